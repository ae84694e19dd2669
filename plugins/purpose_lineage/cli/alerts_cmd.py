"""``purpose-lineage alerts``: preview the alert of a run, or send a test alert to channels.

``preview`` builds the alert a DAG-level callback would send for a run, from the run's failed
verdicts in the lineage store, and prints it (text, html, slack or json): exit 1 when the run
has a failed verdict, 0 when it has none. ``test`` sends a synthetic alert, marked
``[TEST]``, to each channel (``kind:conn_id``, Airflow connections) without duplicate
suppression: exit 0 when every channel took it, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os

FORMATS = ("text", "html", "slack", "json")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="preview a run's alert, or send a test alert to channels")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    preview = actions.add_parser(
        "preview", help="print a run's alert from its verdicts; exit 1 if any failed"
    )
    preview.add_argument("--dag-id", required=True)
    preview.add_argument("--run-id", required=True)
    preview.add_argument("--store-url", help="default: PURPOSE_LINEAGE_STORE_URL, then the Airflow config")
    preview.add_argument("--ui-base-url", default=None, help="default: [purpose_lineage] ui_base_url")
    preview.add_argument("--format", choices=FORMATS, default="text")
    test = actions.add_parser("test", help="send a [TEST] alert to channels; exit 1 if one fails")
    test.add_argument("--channel", action="append", required=True, help="kind:conn_id, e.g. slack:alerts")
    test.add_argument("--max-attempts", type=int, default=2)
    test.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return _preview(args) if args.action == "preview" else _test(args)


def _render(alert, fmt: str) -> str:
    from purpose_lineage.notifications import render

    if fmt == "text":
        return render.render_text(alert)
    if fmt == "html":
        return render.render_html(alert)
    doc = render.render_slack(alert) if fmt == "slack" else render.render_webhook(alert)
    return json.dumps(doc, indent=2)


def _preview(args: argparse.Namespace) -> int:
    from purpose_lineage.errors import PurposeLineageError
    from purpose_lineage.notifications.message import build_alert, latest_failed
    from purpose_lineage.store import open_store

    url = args.store_url or os.environ.get("PURPOSE_LINEAGE_STORE_URL")
    ui = args.ui_base_url
    if not url or ui is None:
        from purpose_lineage import config

        url = url or config.store_url()
        ui = ui if ui is not None else config.ui_base_url()
    try:
        with open_store(url) as store:
            verdicts = latest_failed(store.verdicts_for(run_id=args.run_id), dag_id=args.dag_id)
    except PurposeLineageError as e:
        print(f"error: {e}")
        return 1
    alert = build_alert(
        dag_id=args.dag_id,
        run_id=args.run_id,
        task_id=verdicts[0].task_id if len({v.task_id for v in verdicts}) == 1 else None,
        failed_at=max((v.checked_at for v in verdicts), default=None),
        violations=[d for v in verdicts for d in v.violations],
        affected_count=sum(v.affected_count for v in verdicts if v.affected_count is not None) or None,
        sinks=[v.sink for v in verdicts],
        ui_base_url=ui,
        notes=() if verdicts else ("No failed verdict recorded for this run.",),
    )
    print(_render(alert, args.format), end="" if args.format == "text" else "\n")
    return 1 if verdicts else 0


def _test(args: argparse.Namespace) -> int:
    from purpose_lineage.notifications.delivery import RetryPolicy, send_alert
    from purpose_lineage.notifications.message import Step, ViolationInfo, build_alert

    example = ViolationInfo(
        rule="example_rule",
        source="example_source",
        source_column="contact_column",
        purpose="essential.service.security",
        category="user.contact",
        sink="example_sink",
        sink_column="example_column",
        path=(
            Step("example_source", "contact_column"),
            Step("example_sink", "example_column", "INDIRECT/JOIN"),
        ),
    )
    alert = build_alert(
        dag_id="purpose_lineage_alert_test",
        run_id="test",
        task_id="test",
        violations=[example],
        affected_count=0,
        notes=("This is a test alert sent by 'purpose-lineage alerts test': nothing failed.",),
        test=True,
    )
    outcomes = send_alert(alert, args.channel, policy=RetryPolicy(max_attempts=args.max_attempts))
    if args.format == "json":
        print(
            json.dumps(
                {
                    k: {"status": o.status.value, "attempts": o.attempts, "error": o.error}
                    for k, o in outcomes.items()
                },
                indent=2,
            )
        )
    else:
        for name, o in outcomes.items():
            error = f"  {o.error}" if o.error else ""
            print(f"{name:<30} {o.status.value:<10} attempts={o.attempts}{error}")
    return 0 if outcomes and all(o.ok for o in outcomes.values()) else 1
