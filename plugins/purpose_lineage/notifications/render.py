"""Render an :class:`~purpose_lineage.notifications.message.Alert`: text, HTML, Slack, webhook JSON.

Pure functions, no Airflow. Every value that reaches HTML or Slack mrkdwn is escaped; the
webhook document follows ``schemas/PurposeAlert.json`` (also in ``docs/reference/schemas``).
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from purpose_lineage.notifications.message import SCHEMA_ID, SCHEMA_VERSION, Alert, AlertKind, ViolationInfo

MAX_PATHS_SHOWN = 10  # Slack allows 50 blocks; the webhook document carries every path
SLACK_TEXT_LIMIT = 3000  # section text
SLACK_FIELD_LIMIT = 2000  # section field
SLACK_HEADER_LIMIT = 150  # header plain_text
ARROW = "→"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(alert: Alert) -> str:
    return alert.failed_at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _task(alert: Alert) -> str:
    task = alert.task_id or "(DAG)"
    return f"{task} (try {alert.try_number})" if alert.try_number else task


def _links(alert: Alert) -> list[tuple[str, str]]:
    pairs = [
        ("Lineage view", alert.lineage_url),
        ("Data Docs", alert.data_docs_url),
        ("Task log", alert.log_url),
    ]
    return [(name, url) for name, url in pairs if url]


def _facts(alert: Alert) -> list[tuple[str, str]]:
    facts = [
        ("DAG", alert.dag_id),
        ("Run", alert.run_id),
        ("Task", _task(alert)),
        ("Failed at", _when(alert)),
    ]
    if alert.kind is AlertKind.VIOLATION:
        facts += [
            ("Rule broken", ", ".join(alert.rules)),
            ("Distinct identifiers affected", alert.describe_affected()),
            ("Published table", alert.describe_sink_state()),
        ]
    elif alert.kind is AlertKind.GUARD_BLOCKED:
        facts += [
            ("Distinct identifiers affected", alert.describe_affected()),
            ("Published table", alert.describe_sink_state()),
        ]
    else:
        facts.append(("Published table", alert.describe_sink_state()))
    return facts


def _lead(alert: Alert) -> str:
    if alert.kind is AlertKind.VIOLATION:
        n = len(alert.violations)
        return (
            f"The purpose guard stopped this run: {n} forbidden flow{'s' if n != 1 else ''} of "
            "purpose-limited data reached the sink below. Nothing was published."
        )
    if alert.kind is AlertKind.GUARD_BLOCKED:
        return (
            "The purpose guard stopped this run without a violating lineage path: see the reasons "
            "below (data checks, unknown lineage, or a store it could not read). Nothing was published."
        )
    return (
        "A task of a guarded DAG failed for a reason other than a purpose violation: no violating "
        "path was recorded for this run. The run did not complete; check the task log."
    )


def _error(alert: Alert) -> str | None:
    if not alert.error and not alert.error_type:
        return None
    return ": ".join(p for p in (alert.error_type, alert.error) if p)


# -- plain text --------------------------------------------------------------------------


def render_subject(alert: Alert) -> str:
    """The e-mail subject: ``[Purpose Lineage] <title>`` on one line."""
    return _cut(f"[Purpose Lineage] {alert.title}".replace("\n", " "), 250)


def render_text(alert: Alert) -> str:
    """A plain-text alert, readable in any mail client or log."""
    label = {
        AlertKind.VIOLATION: "PURPOSE VIOLATION",
        AlertKind.GUARD_BLOCKED: "GUARD BLOCKED",
        AlertKind.TASK_FAILURE: "TASK FAILED (no violation recorded)",
    }[alert.kind]
    lines = [f"[{label}] {alert.title}", "", _lead(alert), ""]
    width = max(len(k) for k, _ in _facts(alert))
    lines += [f"{k + ':':<{width + 1}} {v}" for k, v in _facts(alert)]
    if alert.violations:
        lines += ["", f"Violating paths ({len(alert.violations)}):"]
        for i, v in enumerate(alert.violations, 1):
            lines.append(f"  {i}. {v.path_text()}")
            lines.append(
                f"     rule {v.rule}; {v.category} collected for {v.purpose}; "
                f"edges {', '.join(v.edge_kinds) or '?'}"
            )
    if alert.reasons:
        lines += ["", "Guard reasons:", *(f"  - {r}" for r in alert.reasons)]
    error = _error(alert)
    if error:
        lines += ["", f"Error: {error}"]
    lines += ["", *alert.notes] if alert.notes else []
    if _links(alert):
        lines += ["", *(f"{name}: {url}" for name, url in _links(alert))]
    lines += ["", "This alert carries lineage metadata only: no identifier values."]
    return "\n".join(lines) + "\n"


# -- HTML ----------------------------------------------------------------------------------


def render_html(alert: Alert) -> str:
    """An HTML e-mail body; every value is escaped."""
    e = html.escape
    colour = "#8a5a00" if alert.kind is AlertKind.TASK_FAILURE else "#b00020"
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(k)}</th><td>{e(v)}</td></tr>'
        for k, v in _facts(alert)
    )
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>',
        e(alert.title),
        "</title></head>",
        '<body style="font-family:sans-serif">',
        f'<h2 style="color:{colour}">',
        e(alert.title),
        "</h2>",
        "<p>",
        e(_lead(alert)),
        "</p>",
        '<table class="facts">',
        rows,
        "</table>",
    ]
    if alert.violations:
        parts.append(f'<h3>Violating paths ({len(alert.violations)})</h3><ol class="paths">')
        for v in alert.violations:
            parts += [
                "<li>",
                _html_path(v),
                f"<br><small>rule {e(v.rule)}; {e(v.category)} collected for ",
                f"{e(v.purpose)}</small></li>",
            ]
        parts.append("</ol>")
    if alert.reasons:
        parts += [
            '<h3>Guard reasons</h3><ul class="reasons">',
            *(f"<li>{e(r)}</li>" for r in alert.reasons),
            "</ul>",
        ]
    error = _error(alert)
    if error:
        parts += ['<h3>Error</h3><pre class="error">', e(error), "</pre>"]
    parts += [f"<p>{e(n)}</p>" for n in alert.notes]
    if _links(alert):
        links = " · ".join(f'<a href="{e(url, quote=True)}">{e(name)}</a>' for name, url in _links(alert))
        parts += ['<p class="links">', links, "</p>"]
    parts.append("<p><small>This alert carries lineage metadata only: no identifier values.</small></p>")
    parts.append("</body></html>")
    return "".join(parts)


def _html_path(v: ViolationInfo) -> str:
    e = html.escape
    first, *rest = v.steps
    out = [f"<code>{e(first.node)}</code> <em>[{e(v.purpose)}]</em>"]
    for step in rest:
        masked = " (masked)" if step.masked else ""
        out.append(f" {ARROW} <b>{e(step.edge or '?')}{masked}</b> {ARROW} <code>{e(step.node)}</code>")
    return "".join(out)


# -- Slack Block Kit -------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    # Slack's three control characters; everything else is literal
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_path(v: ViolationInfo) -> str:
    first, *rest = v.steps
    out = [f"`{_mrkdwn(first.node)}` _[{_mrkdwn(v.purpose)}]_"]
    for step in rest:
        masked = " (masked)" if step.masked else ""
        out.append(f" {ARROW} *{_mrkdwn(step.edge or '?')}{masked}* {ARROW} `{_mrkdwn(step.node)}`")
    return "".join(out)


def render_slack(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook payload: ``text`` fallback plus Block Kit ``blocks``."""
    icon = ":warning:" if alert.kind is AlertKind.TASK_FAILURE else ":no_entry:"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(alert.title, SLACK_HEADER_LIMIT)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(f"{icon} {_mrkdwn(_lead(alert))}", SLACK_TEXT_LIMIT)},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*{k}*\n{_mrkdwn(v)}", SLACK_FIELD_LIMIT)}
                for k, v in _facts(alert)[:10]
            ],
        },
    ]
    for i, v in enumerate(alert.violations[:MAX_PATHS_SHOWN], 1):
        text = f"*Path {i}* ({_mrkdwn(v.rule)})\n{_slack_path(v)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_TEXT_LIMIT)}})
    hidden = len(alert.violations) - MAX_PATHS_SHOWN
    if hidden > 0:
        more = f"…and {hidden} more path{'s' if hidden != 1 else ''}: see the lineage view."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    if alert.reasons:
        text = "*Guard reasons*\n" + "\n".join(f"• {_mrkdwn(r)}" for r in alert.reasons)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_TEXT_LIMIT)}})
    error = _error(alert)
    if error:
        text = f"*Error*\n```{_mrkdwn(_cut(error, SLACK_TEXT_LIMIT - 20))}```"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_TEXT_LIMIT)}})
    for note in alert.notes:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(_mrkdwn(note), 3000)}]}
        )
    links = " · ".join(f"<{url}|{name}>" for name, url in _links(alert))
    footer = "Metadata only: no identifier values." + (f"  {links}" if links else "")
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(footer, SLACK_TEXT_LIMIT)}]}
    )
    return {"text": _cut(f"{icon} {alert.title}", SLACK_TEXT_LIMIT), "blocks": blocks}


# -- webhook JSON ----------------------------------------------------------------------------


def render_webhook(alert: Alert) -> dict[str, Any]:
    """The generic webhook document (JSON schema ``PurposeAlert.json``)."""
    return {
        "$schema": SCHEMA_ID,
        "schemaVersion": SCHEMA_VERSION,
        "kind": alert.kind.value,
        "severity": alert.severity,
        "summary": alert.title,
        "dedupKey": alert.dedup_key,
        "dagId": alert.dag_id,
        "runId": alert.run_id,
        "taskId": alert.task_id,
        "tryNumber": alert.try_number,
        "failedAt": alert.failed_at.isoformat(),
        "rules": list(alert.rules),
        "violations": [
            {
                "rule": v.rule,
                "source": {
                    "table": v.source,
                    "column": v.source_column,
                    "purpose": v.purpose,
                    "category": v.category,
                },
                "sink": {"table": v.sink, "column": v.sink_column},
                "path": [
                    {"table": s.table, "column": s.column, "edge": s.edge, "masked": s.masked}
                    for s in v.steps
                ],
                "pathText": v.path_text(),
                "edgeKinds": list(v.edge_kinds),
            }
            for v in alert.violations
        ],
        "affectedCount": alert.affected_count,
        "sinks": list(alert.sinks),
        "sinkState": alert.sink_state,
        "error": {"type": alert.error_type, "message": alert.error} if _error(alert) else None,
        "notes": list(alert.notes),
        "reasons": list(alert.reasons),
        "test": alert.test,
        "links": {"lineage": alert.lineage_url, "dataDocs": alert.data_docs_url, "log": alert.log_url},
    }


def webhook_schema() -> dict[str, Any]:
    """The JSON schema of :func:`render_webhook` documents."""
    path = resources.files("purpose_lineage.notifications").joinpath("schemas/PurposeAlert.json")
    return json.loads(path.read_text(encoding="utf-8"))


__all__ = ["render_html", "render_slack", "render_subject", "render_text", "render_webhook", "webhook_schema"]
