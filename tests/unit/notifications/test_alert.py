"""PurposeAlertNotifier: from an Airflow failure context to delivered alerts, never raising."""

from __future__ import annotations

import dataclasses
import importlib
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from purpose_lineage.errors import PolicyViolationError
from purpose_lineage.get_provider_info import get_provider_info
from purpose_lineage.notifications.alert import GUARD_XCOM_KEY, PurposeAlertNotifier, send_purpose_alert
from purpose_lineage.notifications.delivery import Status
from purpose_lineage.notifications.message import AlertKind
from purpose_lineage.store.base import Verdict
from tests.helpers.alert_data import incident_violations, leaks, leaky_error_text
from tests.helpers.alert_receivers import SLACK_PATH

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


class VerdictReader:
    """Stands in for the lineage store's read side: ``verdicts_for(run_id=...)``."""

    def __init__(self, verdicts=(), error: Exception | None = None):
        self.verdicts = list(verdicts)
        self.error = error
        self.closed = 0

    def verdicts_for(self, table=None, *, run_id=None):
        if self.error:
            raise self.error
        return [v for v in self.verdicts if v.run_id == run_id]

    def close(self):
        self.closed += 1


def _ti(task_id="guard", try_number=1, summary=None):
    def xcom_pull(task_ids=None, key=None):
        assert key == GUARD_XCOM_KEY
        return summary

    return SimpleNamespace(
        dag_id="acme_audience",
        task_id=task_id,
        run_id="manual__1",
        try_number=try_number,
        end_date=T0,
        xcom_pull=xcom_pull,
        log_url="http://airflow.test/log/1",
    )


def _guard_exception():
    try:
        try:
            raise PolicyViolationError("2 forbidden flows into ad_audience_acme", incident_violations())
        except PolicyViolationError as err:
            raise AirflowFailException(f"purpose guard failed: {leaky_error_text()}") from err
    except AirflowFailException as exc:
        return exc


def _notifier(store, tmp_path, **kw):
    notifier = PurposeAlertNotifier(
        ledger=f"sqlite:///{tmp_path}/ledger.sqlite3",
        ui_base_url="http://airflow.test",
        max_attempts=2,
        backoff_seconds=0,
        timeout_seconds=2,
        **kw,
    )
    notifier.__dict__["store"] = store
    return notifier


def _verdict(passed=False, at=T0, task_id="guard", affected=2):
    v = Verdict.from_violations(
        [] if passed else incident_violations(),
        run_id="manual__1",
        dag_id="acme_audience",
        task_id=task_id,
        sink="ad_audience_acme",
        affected_count=affected,
        checked_at=at,
    )
    return v


def test_guard_failure_alert_from_verdicts_exception_and_xcom(tmp_path):
    store = VerdictReader([_verdict()])
    summary = {"data_docs_url": "http://docs.test/gx/run.html", "sink_state": "unchanged"}
    notifier = _notifier(store, tmp_path)
    alert = notifier.build_alert(
        {"ti": _ti(summary=summary), "exception": _guard_exception(), "run_id": "manual__1"}
    )
    assert alert.kind is AlertKind.VIOLATION
    assert len(alert.violations) == 2  # the exception's and the verdict's copies of the paths merge
    assert alert.affected_count == 2 and alert.sink_state == "unchanged"
    assert alert.data_docs_url == "http://docs.test/gx/run.html"
    assert alert.log_url == "http://airflow.test/log/1"
    assert alert.error_type == "AirflowFailException" and leaks(alert.error) == []
    assert alert.failed_at == T0 and alert.try_number == 1


def test_latest_verdict_per_sink_wins(tmp_path):
    later_pass = _verdict(passed=True, at=T0 + timedelta(minutes=5))
    notifier = _notifier(VerdictReader([_verdict(), later_pass]), tmp_path)
    alert = notifier.build_alert({"ti": _ti(), "exception": RuntimeError("other")})
    assert alert.kind is AlertKind.TASK_FAILURE  # the sink's latest verdict passed


def test_non_guard_failure_is_labelled_task_failure(tmp_path):
    notifier = _notifier(VerdictReader([]), tmp_path)
    alert = notifier.build_alert({"ti": _ti(task_id="extract"), "exception": OSError("disk full")})
    assert alert.kind is AlertKind.TASK_FAILURE and alert.task_id == "extract" and alert.violations == ()
    assert alert.error == "disk full" and alert.sink_state == "not assessed"


def test_dag_level_context_reads_every_failed_verdict_of_the_run(tmp_path):
    other_task = _verdict(task_id="guard_b")
    notifier = _notifier(VerdictReader([other_task]), tmp_path)
    alert = notifier.build_alert(
        {"ti": _ti(task_id="publish"), "reason": "task_failure", "run_id": "manual__1"}
    )
    assert alert.kind is AlertKind.VIOLATION and alert.sinks == ("ad_audience_acme",)


def test_unreadable_store_still_alerts_from_the_exception(tmp_path, caplog):
    notifier = _notifier(VerdictReader(error=OSError("connection refused")), tmp_path)
    alert = notifier.build_alert({"ti": _ti(), "exception": _guard_exception()})
    assert alert.kind is AlertKind.VIOLATION and len(alert.violations) == 2
    assert any("could not be read" in n for n in alert.notes)
    assert "verdicts of manual__1 not readable" in caplog.text


def test_notify_sends_to_every_channel_once_per_run_and_violation(connections, tmp_path):
    store = VerdictReader([_verdict()])
    kw = dict(
        slack_conn_id="alert_slack",
        smtp_conn_id="alert_smtp",
        webhook_conn_id="alert_webhook",
        webhook_endpoint="/siem",
    )
    first = _notifier(store, tmp_path, **kw)
    first({"ti": _ti(), "exception": _guard_exception(), "run_id": "manual__1"})
    assert {k: o.status for k, o in first.last_outcomes.items()} == {
        "slack:alert_slack": Status.SENT,
        "email:alert_smtp": Status.SENT,
        "webhook:alert_webhook": Status.SENT,
    }
    assert store.closed == 1
    retry = _notifier(store, tmp_path, **kw)
    retry({"ti": _ti(try_number=2), "exception": _guard_exception(), "run_id": "manual__1"})
    assert {o.status for o in retry.last_outcomes.values()} == {Status.SUPPRESSED}
    assert len(connections["smtp"].messages) == 1
    assert len(connections["http"].on(SLACK_PATH)) == 1 and len(connections["http"].on("/siem")) == 1


def test_templated_fields_render_even_without_the_dag_template_env(connections, tmp_path):
    class SerializedLikeDag:  # dag.test() hands DAG callbacks a SerializedDAG without get_template_env
        dag_id = "acme_audience"
        render_template_as_native_obj = False

    notifier = _notifier(
        VerdictReader([]), tmp_path, smtp_conn_id="alert_smtp", email_to="{{ dag.dag_id }}@alerts.test"
    )
    notifier(
        {
            "dag": SerializedLikeDag(),
            "ti": _ti(task_id="extract"),
            "exception": OSError("x"),
            "run_id": "manual__1",
        }
    )
    assert notifier.email_to == "acme_audience@alerts.test"
    assert notifier.last_outcomes["email:alert_smtp"].status is Status.SENT
    assert connections["smtp"].messages[0][0] == ["acme_audience@alerts.test"]


def test_the_callback_never_raises(tmp_path, caplog):
    notifier = _notifier(VerdictReader([]), tmp_path, slack_conn_id="no_such_connection")
    notifier.build_alert = lambda context: (_ for _ in ()).throw(RuntimeError("boom +14155550100"))
    with caplog.at_level(logging.WARNING):
        notifier({"ti": _ti(), "exception": OSError("x")})
    assert "Purpose alert could not be sent: boom [redacted phone]" in caplog.text
    broken = _notifier(VerdictReader([]), tmp_path, slack_conn_id="{{ this is not jinja")
    broken({"ti": _ti(), "exception": OSError("x")})  # template error: logged, not raised
    unconfigured = _notifier(VerdictReader([]), tmp_path, slack_conn_id="no_such_connection")
    unconfigured({"ti": _ti(), "exception": OSError("x")})
    assert unconfigured.last_outcomes["slack:no_such_connection"].status is Status.FAILED


def test_channels_default_to_config(monkeypatch, tmp_path):
    from purpose_lineage import config

    monkeypatch.setattr(config, "alert_channels", lambda: ("slack:a", "webhook:b"))
    assert [c.name for c in PurposeAlertNotifier().channels()] == ["slack:a", "webhook:b"]
    assert [c.name for c in PurposeAlertNotifier(smtp_conn_id="s").channels()] == ["email:s"]
    assert [c.name for c in PurposeAlertNotifier(smtp_conn_id="s", channels=["slack:a"]).channels()] == [
        "email:s",
        "slack:a",
    ]


def test_keyword_only_alias_and_provider_registration():
    assert send_purpose_alert is PurposeAlertNotifier
    with pytest.raises(TypeError):
        PurposeAlertNotifier("slack_conn")  # type: ignore[misc]
    (path,) = get_provider_info()["notifications"]
    module, _, name = path.rpartition(".")
    assert getattr(importlib.import_module(module), name) is PurposeAlertNotifier
    assert {"slack_conn_id", "smtp_conn_id", "email_to", "webhook_conn_id"} <= set(
        PurposeAlertNotifier.template_fields
    )


def test_verdict_violations_are_plain_dicts():
    assert _verdict().violations[0] == dataclasses.asdict(incident_violations()[0])


def test_async_notify_sends_too(connections, tmp_path):
    import asyncio

    notifier = _notifier(VerdictReader([_verdict()]), tmp_path, webhook_conn_id="alert_webhook")
    asyncio.run(notifier.async_notify({"ti": _ti(), "exception": _guard_exception(), "run_id": "manual__1"}))
    assert notifier.last_outcomes["webhook:alert_webhook"].status is Status.SENT
    assert connections["http"].requests[0].json()["kind"] == "purpose_violation"


def _main_guard_summary(**over):
    """The XCom summary as PurposeGuardOperator pushes it."""
    return {
        "sink": "main.ad_audience_acme",
        "passed": False,
        "violations": [],
        "affected_identifiers": 3,
        "suite": "ad_audience",
        "data_docs": "/var/gx/docs/index.html",
        "reasons": ["data checks failed in suite 'ad_audience': expect_no_security_fingerprints"],
        "published_table_state": "unchanged",
        **over,
    }


def test_guard_blocked_without_a_path_is_its_own_kind(tmp_path):
    verdict = Verdict("manual__1", "acme_audience", "guard", "main.ad_audience_acme", False, (), None, T0)
    notifier = _notifier(VerdictReader([verdict]), tmp_path)
    message = "Purpose guard blocked publishing main.ad_audience_acme: data checks failed"
    try:
        raise AirflowFailException(message) from PolicyViolationError(message, [])
    except AirflowFailException as exc:
        alert = notifier.build_alert({"ti": _ti(summary=_main_guard_summary()), "exception": exc})
    assert alert.kind is AlertKind.GUARD_BLOCKED and alert.severity == "critical"
    assert alert.title == "Purpose guard blocked publishing main.ad_audience_acme (acme_audience)"
    assert alert.reasons == ("data checks failed in suite 'ad_audience': expect_no_security_fingerprints",)
    assert alert.affected_count == 3 and alert.sink_state == "unchanged"
    assert alert.data_docs_url == "file:///var/gx/docs/index.html"


def test_main_guard_summary_violations_are_read_when_the_store_is_down(tmp_path):
    camel = [
        {
            "rule": v.rule,
            "sink": v.sink,
            "sinkColumn": v.sink_column,
            "source": v.source,
            "sourceColumn": v.source_column,
            "purpose": v.purpose,
            "category": v.category,
            "path": [{"table": h.table, "column": h.column, "edge": h.edge} for h in v.path],
        }
        for v in incident_violations()
    ]
    notifier = _notifier(VerdictReader(error=OSError("down")), tmp_path)
    summary = _main_guard_summary(violations=camel, reasons=[])
    alert = notifier.build_alert({"ti": _ti(summary=summary), "reason": "task_failure"})
    assert alert.kind is AlertKind.VIOLATION and len(alert.violations) == 2
    assert alert.affected_count == 3 and alert.sinks[0] == "main.ad_audience_acme"


def test_guard_sending_itself_then_the_failure_callback_alerts_once(connections, tmp_path):
    store = VerdictReader([_verdict()])
    kw = {"webhook_conn_id": "alert_webhook", "slack_conn_id": "alert_slack"}
    summary = _main_guard_summary(reasons=[])
    # the guard calls its notifier before raising (no exception in the context yet) ...
    by_guard = _notifier(store, tmp_path, **kw)
    by_guard({"ti": _ti(summary=summary), "run_id": "manual__1"})
    # ... then Airflow runs the task's on_failure_callback with the exception
    callback = _notifier(store, tmp_path, **kw)
    callback({"ti": _ti(summary=summary), "exception": _guard_exception(), "run_id": "manual__1"})
    assert {o.status for o in by_guard.last_outcomes.values()} == {Status.SENT}
    assert {o.status for o in callback.last_outcomes.values()} == {Status.SUPPRESSED}
    assert len(connections["http"].requests) == 2  # one Slack, one webhook
