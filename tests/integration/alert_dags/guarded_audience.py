"""Guarded DAGs whose runs fail, for the alert tests (copied into a temporary dags folder).

``guard`` does what the purpose guard will do on a violation: count the distinct identifiers
affected (a real join in the warehouse), record a failed ``Verdict`` in the lineage store,
and raise ``AirflowFailException`` from a ``PolicyViolationError`` carrying the paths. Its
message quotes values the way a data-quality tool may: the alert must scrub them.

Settings come from the environment (``PL_ALERT_TEST_*``), set by the test.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

import duckdb
from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowFailException

from purpose_lineage.errors import PolicyViolationError
from purpose_lineage.notifications.alert import PurposeAlertNotifier
from purpose_lineage.store import open_store
from purpose_lineage.store.base import Verdict
from tests.helpers.alert_data import incident_violations, leaky_error_text

WAREHOUSE = os.environ.get("PL_ALERT_TEST_WAREHOUSE", "/nonexistent.duckdb")
STORE_URL = os.environ.get("PL_ALERT_TEST_STORE_URL", "duckdb:////nonexistent.duckdb")
RECORD = os.environ.get("PL_ALERT_TEST_RECORD", "/dev/null")
LEDGER = os.environ.get("PL_ALERT_TEST_LEDGER", "auto")
START = datetime(2026, 1, 1)


class RecordingNotifier(PurposeAlertNotifier):
    """The notifier, plus one JSON line per call (which callback, which try, what each channel did)."""

    def __init__(self, *, role: str, **kwargs):
        super().__init__(**kwargs)
        self.role = role

    def notify(self, context):
        super().notify(context)
        ti = context.get("ti")
        line = {
            "role": self.role,
            "dag_id": getattr(ti, "dag_id", None),
            "task_id": getattr(ti, "task_id", None),
            "try_number": getattr(ti, "try_number", None),
            "kind": self.last_alert.kind.value if self.last_alert else None,
            "dedup_key": self.last_alert.dedup_key if self.last_alert else None,
            "run_id": self.last_alert.run_id if self.last_alert else None,
            "dag": self.last_alert.dag_id if self.last_alert else None,
            "sinks": list(self.last_alert.sinks) if self.last_alert else None,
            "reasons": list(self.last_alert.reasons) if self.last_alert else None,
            "outcomes": {k: [o.status.value, o.attempts] for k, o in self.last_outcomes.items()},
        }
        with open(RECORD, "a") as f:
            f.write(json.dumps(line) + "\n")


def notifier(role: str, channels: str = "ok", **kw) -> RecordingNotifier:
    sets = {
        "ok": {
            "slack_conn_id": "alert_slack",
            "smtp_conn_id": "alert_smtp",
            "webhook_conn_id": "alert_webhook",
            "webhook_endpoint": "/siem",
        },
        "degraded": {
            "slack_conn_id": "alert_slack",
            "smtp_conn_id": "smtp_refusing",
            "webhook_conn_id": "alert_webhook",
            "webhook_endpoint": "/siem",
            "channels": ["slack:slack_down"],
        },
    }
    return RecordingNotifier(
        **{
            "role": role,
            "store_url": STORE_URL,
            "ledger": LEDGER,
            "ui_base_url": "http://airflow.test",
            "max_attempts": 3,
            "backoff_seconds": 0.2,
            "max_seconds": 10,
            "timeout_seconds": 3,
            **sets[channels],
            **kw,
        }
    )


def guard_check(ti, *, retryable: bool = False) -> None:
    """What the guard does on a violation (see module docstring)."""
    with duckdb.connect(WAREHOUSE, read_only=True) as con:
        (affected,) = con.execute(
            "SELECT count(DISTINCT u.user_id) FROM users_2fa u JOIN acme_upload a ON a.phone = u.phone_number"
        ).fetchone()
    violations = incident_violations()
    with open_store(STORE_URL) as store:
        store.record_verdict(
            Verdict.from_violations(
                violations,
                run_id=ti.run_id,
                dag_id=ti.dag_id,
                task_id=ti.task_id,
                sink="ad_audience_acme",
                affected_count=affected,
            )
        )
    ti.xcom_push(
        key="purpose_guard",
        value={
            "data_docs_url": "http://docs.test/gx/acme.html",
            "sink_state": "unchanged",
            "affected_count": affected,
        },
    )
    error = PolicyViolationError(f"{len(violations)} forbidden flows into ad_audience_acme", violations)
    if retryable:
        raise error
    raise AirflowFailException(f"purpose guard failed: {leaky_error_text()}") from error


# -- a guard failure, alerted by the task callback and the DAG callback -------------------

with DAG(
    "acme_audience_guarded",
    start_date=START,
    schedule=None,
    catchup=False,
    on_failure_callback=notifier("dag"),
):

    @task
    def build_audience():
        with duckdb.connect(WAREHOUSE) as con:
            con.execute(
                "CREATE OR REPLACE TABLE stage_acme AS SELECT u.user_id FROM users_2fa u "
                "JOIN acme_upload a ON a.phone = u.phone_number"
            )

    @task(on_failure_callback=notifier("task"))
    def guard(ti=None):
        guard_check(ti)

    @task
    def publish():
        raise AssertionError("publish must not run after a failed guard")

    build_audience() >> guard() >> publish()


# -- a non-guard failure of a guarded DAG --------------------------------------------------

with DAG("acme_audience_extract_fails", start_date=START, schedule=None, catchup=False):

    @task(on_failure_callback=notifier("task"))
    def extract():
        raise OSError(f"warehouse read failed: {leaky_error_text()}")

    @task
    def guard_never_runs():
        pass

    extract() >> guard_never_runs()


# -- a guard failing twice (retries=1): one alert per channel --------------------------------
# (duplicates suppressed by the lineage store's alert claims: ledger "auto")

with DAG("acme_audience_retry", start_date=START, schedule=None, catchup=False):
    retry_alert = notifier("task", ledger="auto")

    @task(
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_retry_callback=retry_alert,
        on_failure_callback=retry_alert,
    )
    def guard_with_retry(ti=None):
        guard_check(ti, retryable=ti.try_number == 1)

    guard_with_retry()


# -- channels down: slack at a closed port, SMTP refusing with 554 ---------------------------

with DAG("acme_audience_degraded", start_date=START, schedule=None, catchup=False):

    @task(on_failure_callback=notifier("task", channels="degraded"))
    def guard_degraded(ti=None):
        guard_check(ti)

    guard_degraded()


# -- a guard blocking on data checks without a path, alerting by itself and by callback ---------


def data_check_guard(ti, context_notifier) -> None:
    """As PurposeGuardOperator on failed data checks: verdict, XCom summary, own notifier, raise."""
    sink = "main.ad_audience_acme"
    reasons = ["data checks failed in suite 'ad_audience': expect_no_security_fingerprints"]
    with open_store(STORE_URL) as store:
        store.record_verdict(
            Verdict(ti.run_id, ti.dag_id, ti.task_id, sink, passed=False, violations=(), affected_count=2)
        )
    ti.xcom_push(
        key="purpose_guard",
        value={
            "sink": sink,
            "passed": False,
            "violations": [],
            "affected_identifiers": 2,
            "suite": "ad_audience",
            "data_docs": "/var/gx/docs/index.html",
            "reasons": reasons,
            "published_table_state": "unchanged",
        },
    )
    message = f"Purpose guard blocked publishing {sink}: {reasons[0]}. Identifiers affected: 2."
    from airflow.sdk import get_current_context

    context_notifier(get_current_context())  # the guard sends by itself before failing
    raise AirflowFailException(message) from PolicyViolationError(message, [])


with DAG("acme_audience_data_check", start_date=START, schedule=None, catchup=False):
    own = notifier("guard")

    @task(on_failure_callback=notifier("task"))
    def guard_data_check(ti=None):
        data_check_guard(ti, own)

    guard_data_check()
