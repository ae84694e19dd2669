"""Failed-run alerts end to end: real failing DAG runs, real SMTP and HTTP receivers.

Each test runs a DAG of ``alert_dags/guarded_audience.py`` with ``dag.test()``. The guard
task records a failed verdict in a real DuckDB lineage store and raises
``AirflowFailException`` from a ``PolicyViolationError``, as the guard does. The notifier
sends to an aiosmtpd server and to an ``http.server`` receiver standing in for Slack and a
SIEM webhook; every received message is scanned for the test data's identifiers and hashes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from pathlib import Path

import duckdb
import jsonschema
import pytest

from purpose_lineage.notifications.render import webhook_schema
from purpose_lineage.store import open_store
from tests.helpers.alert_data import EMAILS, PHONES, RECIPIENTS, leaks
from tests.helpers.alert_receivers import (
    SLACK_PATH,
    HttpReceiver,
    HttpRequest,
    SmtpReceiver,
    free_port,
    http_conn,
    mail_parts,
    slack_conn,
    smtp_conn,
)

pytestmark = pytest.mark.slow
DAGS = Path(__file__).parent / "alert_dags"


DAG_IDS = (
    "acme_audience_guarded",
    "acme_audience_extract_fails",
    "acme_audience_retry",
    "acme_audience_degraded",
    "acme_audience_data_check",
)
# one process runs every DAG: Airflow's first run in a process costs ~10-20 s, later ones well under 1 s
RUNNER = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
for dag_id in sys.argv[2:]:
    dr = bag.get_dag(dag_id).test()
    print("RESULT " + json.dumps({"dag_id": dag_id, "run_id": dr.run_id, "state": str(dr.state),
          "tasks": {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}}), flush=True)
"""


@dataclass
class Run:
    """One DAG run and what it sent."""

    result: dict
    calls: list[dict]  # one per notifier call: role, try, outcome per channel
    slack: list[HttpRequest] = field(default_factory=list)
    webhook: list[HttpRequest] = field(default_factory=list)
    mails: list[tuple[list[str], Message, bytes]] = field(default_factory=list)

    def messages(self) -> list[tuple[str, bytes | str]]:
        """Every received message, and every part of every mail, for the leak scan."""
        out: list[tuple[str, bytes | str]] = [("slack", r.body) for r in self.slack]
        out += [("webhook", r.body) for r in self.webhook]
        for _, mail, raw in self.mails:
            out.append(("email-raw", raw))
            out += [(f"email-{kind}", text) for kind, text in mail_parts(mail).items()]
        return out


def _slack_dag(request: HttpRequest) -> str:
    fields = next(b["fields"] for b in request.json()["blocks"] if "fields" in b)
    return next(f["text"].split("\n", 1)[1] for f in fields if f["text"].startswith("*DAG*"))


def _mail_dag(mail: Message) -> str:
    line = next(x for x in mail_parts(mail)["text/plain"].splitlines() if x.startswith("DAG:"))
    return line.split(":", 1)[1].strip()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, airflow_db, repo_root) -> dict[str, Run]:
    """Run every test DAG once, for real, against local receivers; group what arrived by DAG."""
    tmp = tmp_path_factory.mktemp("alerts")
    dags = tmp / "dags"
    shutil.copytree(DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE users_2fa (user_id INTEGER, phone_number TEXT, email TEXT)")
        con.executemany(
            "INSERT INTO users_2fa VALUES (?, ?, ?)",
            [(i + 1, p, e) for i, (p, e) in enumerate(zip(PHONES, EMAILS, strict=True))],
        )
        con.execute("CREATE TABLE acme_upload (phone TEXT)")
        con.executemany("INSERT INTO acme_upload VALUES (?)", [(PHONES[0],), (PHONES[2],), ("+15005550006",)])
    http, smtp, refusing = HttpReceiver(), SmtpReceiver(), SmtpReceiver(fail_first=10**6)
    closed = free_port()
    store_url = f"duckdb:///{tmp / 'lineage.duckdb'}"
    record = tmp / "notifications.jsonl"
    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "PYTHONPATH": os.pathsep.join([str(repo_root), str(repo_root / "plugins")]),
        "PL_ALERT_TEST_WAREHOUSE": str(warehouse),
        "PL_ALERT_TEST_STORE_URL": store_url,
        "PL_ALERT_TEST_RECORD": str(record),
        "PL_ALERT_TEST_LEDGER": f"sqlite:///{tmp / 'ledger.sqlite3'}",
        "AIRFLOW_CONN_ALERT_SLACK": slack_conn(http.url),
        "AIRFLOW_CONN_ALERT_SMTP": smtp_conn(smtp.port),
        "AIRFLOW_CONN_ALERT_WEBHOOK": http_conn(http.url, Authorization="Bearer t0k"),
        "AIRFLOW_CONN_SLACK_DOWN": slack_conn(f"http://127.0.0.1:{closed}"),
        "AIRFLOW_CONN_SMTP_REFUSING": smtp_conn(refusing.port),
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-c", RUNNER, str(dags), *DAG_IDS],
            env=env,
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = proc.stdout + proc.stderr
        logs = Path(os.environ.get("PL_ALERT_TEST_LOGS") or tmp)
        logs.mkdir(parents=True, exist_ok=True)
        (logs / "alert_dags.log").write_text(output)
        lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        results = [json.loads(x.removeprefix("RESULT ")) for x in lines]
        assert proc.returncode == 0 and len(results) == len(DAG_IDS), output[-5000:]
        calls = [json.loads(line) for line in record.read_text().splitlines()]
        out = {r["dag_id"]: Run(r, [c for c in calls if c["dag_id"] == r["dag_id"]]) for r in results}
        for request in http.requests:
            if request.path == SLACK_PATH:
                out[_slack_dag(request)].slack.append(request)
            else:
                out[request.json()["dagId"]].webhook.append(request)
        for item in smtp.messages:
            out[_mail_dag(item[1])].mails.append(item)
        out["_refusing"] = Run({"refused": refusing.refused}, [], mails=list(refusing.messages))
        out["_store_url"] = Run({"url": store_url}, [])
        out["_output"] = Run({"text": output}, [])
        yield out
    finally:
        for receiver in (http, smtp, refusing):
            receiver.close()


def test_guard_failure_alerts_every_channel_with_the_path(runs):
    run = runs["acme_audience_guarded"]
    assert run.result["state"] == "failed"
    assert run.result["tasks"]["guard"] == "failed" and run.result["tasks"]["publish"] == "upstream_failed"
    (slack,), (webhook,), ((rcpts, mail, _),) = run.slack, run.webhook, run.mails
    assert rcpts == list(RECIPIENTS)
    assert webhook.path == "/siem" and webhook.headers["Authorization"] == "Bearer t0k"

    doc = webhook.json()
    jsonschema.validate(doc, webhook_schema())
    assert doc["kind"] == "purpose_violation" and doc["dagId"] == "acme_audience_guarded"
    assert doc["runId"] == run.result["run_id"] and doc["taskId"] == "guard" and doc["tryNumber"] == 1
    assert doc["affectedCount"] == 2 and doc["sinkState"] == "unchanged"
    assert doc["rules"] == ["security_purpose_never_in_advertising"]
    assert [v["pathText"] for v in doc["violations"]] == [
        "users_2fa.phone_number [essential.service.security] -> INDIRECT/JOIN -> acme_upload_matches (rows) "
        "-> DIRECT/IDENTITY -> ad_audience_acme.user_id",
        "users_2fa.phone_number [essential.service.security] -> DIRECT/TRANSFORMATION (masked) "
        "-> stage_acme.phone_sha256 -> DIRECT/IDENTITY -> ad_audience_acme.phone_hash",
    ]
    assert doc["links"]["lineage"].startswith(
        "http://airflow.test/purpose-lineage/ui/?dag_id=acme_audience_guarded&run_id=manual__"
    )
    assert doc["links"]["dataDocs"] == "http://docs.test/gx/acme.html"
    assert doc["error"]["type"] == "AirflowFailException" and "[redacted phone]" in doc["error"]["message"]

    parts = mail_parts(mail)
    text, page = parts["text/plain"], parts["text/html"]
    assert mail["Subject"] == (
        "[Purpose Lineage] Purpose violation blocked: ad_audience_acme (acme_audience_guarded)"
    )
    assert text.splitlines()[0].startswith("[PURPOSE VIOLATION]")
    assert f"Run:                           {run.result['run_id']}" in text
    assert "Distinct identifiers affected: 2" in text and "ad_audience_acme: unchanged" in text
    assert "  1. users_2fa.phone_number [essential.service.security] -> INDIRECT/JOIN" in text
    assert '<ol class="paths"><li><code>users_2fa.phone_number</code>' in page and page.endswith("</html>")

    blocks = slack.json()["blocks"]
    assert blocks[0]["type"] == "header" and blocks[-1]["type"] == "context"
    texts = [b["text"] for b in blocks if "text" in b]
    texts += [t for b in blocks for t in b.get("fields", []) + b.get("elements", [])]
    assert all(0 < len(t["text"]) < 3000 for t in texts)
    assert sum(b.get("text", {}).get("text", "").startswith("*Path") for b in blocks) == 2

    # the task callback sent; the DAG callback (same run, same violations) was suppressed
    assert [c["role"] for c in run.calls] == ["task", "dag"]
    task_call, dag_call = run.calls
    assert task_call["outcomes"] == {
        "slack:alert_slack": ["sent", 1],
        "email:alert_smtp": ["sent", 1],
        "webhook:alert_webhook": ["sent", 1],
    }
    assert {v[0] for v in dag_call["outcomes"].values()} == {"suppressed"}


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_no_identifier_or_hash_in_any_received_message(runs, dag_id):
    messages = runs[dag_id].messages()
    kinds = {channel for channel, _ in messages}
    assert {"slack", "webhook"} <= kinds
    if dag_id != "acme_audience_degraded":  # its SMTP refuses everything
        assert {"email-raw", "email-text/plain", "email-text/html"} <= kinds
    for channel, body in messages:
        assert leaks(body) == [], (dag_id, channel)


def test_non_guard_failure_still_alerts_labelled_without_a_path(runs):
    run = runs["acme_audience_extract_fails"]
    assert run.result["state"] == "failed" and run.result["tasks"]["extract"] == "failed"
    doc = run.webhook[0].json()
    assert doc["kind"] == "task_failure" and doc["violations"] == [] and doc["taskId"] == "extract"
    assert doc["severity"] == "error" and doc["sinkState"] == "not assessed"
    assert doc["error"]["type"] == "OSError"
    text = mail_parts(run.mails[0][1])["text/plain"]
    assert text.startswith(
        "[TASK FAILED (no violation recorded)] "
        "Task failed in a guarded DAG: acme_audience_extract_fails.extract"
    )
    assert "Violating paths" not in text
    assert "no purpose violation recorded" in run.slack[0].json()["blocks"][0]["text"]["text"]
    assert len(run.slack) == len(run.webhook) == len(run.mails) == 1


def test_task_failing_twice_with_retries_sends_one_alert_per_channel(runs):
    run = runs["acme_audience_retry"]
    assert run.result["state"] == "failed" and run.result["tasks"]["guard_with_retry"] == "failed"
    assert [c["try_number"] for c in run.calls] == [1, 2]  # on_retry_callback, then on_failure_callback
    assert {v[0] for v in run.calls[0]["outcomes"].values()} == {"sent"}
    assert {v[0] for v in run.calls[1]["outcomes"].values()} == {"suppressed"}
    assert len(run.slack) == len(run.webhook) == len(run.mails) == 1
    with open_store(runs["_store_url"].result["url"]) as store:
        verdicts = store.verdicts_for(run_id=run.result["run_id"])
    verdicts = [v for v in verdicts if v.task_id == "guard_with_retry"]
    assert len(verdicts) == 2 and not any(v.passed for v in verdicts)  # both tries found the violation
    with open_store(runs["_store_url"].result["url"]) as store:  # the claims live in the store
        sql = "SELECT channel FROM pl_alert_claims WHERE run_id = ?"
        claimed = store._run(lambda c: c.q(sql, [run.result["run_id"]]), wait=5)
    assert sorted(r[0] for r in claimed) == ["email:alert_smtp", "slack:alert_slack", "webhook:alert_webhook"]


def test_channels_down_are_retried_and_the_others_still_deliver(runs):
    run = runs["acme_audience_degraded"]
    # the task failure is still reported
    assert run.result["state"] == "failed" and run.result["tasks"]["guard_degraded"] == "failed"
    (call,) = run.calls
    assert call["outcomes"] == {
        "slack:slack_down": ["failed", 3],
        "email:smtp_refusing": ["failed", 3],
        "slack:alert_slack": ["sent", 1],
        "webhook:alert_webhook": ["sent", 1],
    }
    assert runs["_refusing"].result["refused"] == 3 and runs["_refusing"].mails == []
    assert len(run.slack) == len(run.webhook) == 1
    # logged: each failed attempt, then the give-up; waits grow (0.2 s, then 0.4 s)
    lines = [x for x in runs["_output"].result["text"].splitlines() if "[purpose_lineage." in x]
    for channel, error in (("slack:slack_down", "Connection refused"), ("email:smtp_refusing", "554")):
        attempts = [x for x in lines if f"Alert channel {channel} failed (attempt" in x]
        assert len(attempts) == 3 and all(error in x for x in attempts), channel
        stamps = [datetime.fromisoformat(x.split()[0].replace("Z", "+00:00")) for x in attempts]
        waits = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
        assert waits[0] >= 0.19 and waits[1] >= 0.39, waits
        assert any(f"NOT delivered to {channel} after 3 attempt(s)" in x for x in lines)


def test_guard_blocking_on_data_checks_alerts_once_although_it_sends_itself(runs):
    run = runs["acme_audience_data_check"]
    assert run.result["state"] == "failed" and run.result["tasks"]["guard_data_check"] == "failed"
    assert [c["role"] for c in run.calls] == ["guard", "task"]
    assert run.calls[0]["dedup_key"] == run.calls[1]["dedup_key"], json.dumps(run.calls)
    assert {v[0] for v in run.calls[0]["outcomes"].values()} == {"sent"}
    assert {v[0] for v in run.calls[1]["outcomes"].values()} == {"suppressed"}
    assert len(run.slack) == len(run.webhook) == len(run.mails) == 1
    doc = run.webhook[0].json()
    jsonschema.validate(doc, webhook_schema())
    assert doc["kind"] == "guard_blocked" and doc["violations"] == []
    assert doc["sinks"] == ["main.ad_audience_acme"]
    assert doc["reasons"] == ["data checks failed in suite 'ad_audience': expect_no_security_fingerprints"]
    assert doc["affectedCount"] == 2 and doc["sinkState"] == "unchanged"
    assert doc["links"]["dataDocs"] == "file:///var/gx/docs/index.html"
    text = mail_parts(run.mails[0][1])["text/plain"]
    assert text.startswith("[GUARD BLOCKED] Purpose guard blocked publishing main.ad_audience_acme")


def test_our_log_lines_carry_no_identifier(runs):
    # the test task's own traceback quotes identifiers on purpose; our loggers must not
    ours = [x for x in runs["_output"].result["text"].splitlines() if "[purpose_lineage." in x]
    assert len(ours) >= 20
    assert [x for x in ours if leaks(x)] == []


def test_notifier_is_listed_by_airflow_providers_notifications(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    airflow = str(Path(sys.executable).with_name("airflow"))
    out = subprocess.run(
        [airflow, "providers", "notifications", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    names = [row["notification_class_name"] for row in json.loads(out.stdout)]
    assert names.count("purpose_lineage.notifications.alert.PurposeAlertNotifier") == 1


def test_cli_test_alert_from_a_fresh_process(tmp_path, repo_root):
    """Channels send concurrently from a process that has not imported Airflow yet."""
    http, smtp = HttpReceiver(), SmtpReceiver()
    try:
        env = {
            **os.environ,
            "AIRFLOW_CONN_ALERT_SLACK": slack_conn(http.url),
            "AIRFLOW_CONN_ALERT_SMTP": smtp_conn(smtp.port),
            "AIRFLOW_CONN_ALERT_WEBHOOK": http_conn(http.url),
        }
        script = str(Path(sys.executable).with_name("purpose-lineage"))
        channels = [
            "--channel",
            "slack:alert_slack",
            "--channel",
            "email:alert_smtp",
            "--channel",
            "webhook:alert_webhook",
        ]
        out = subprocess.run(
            [script, "alerts", "test", *channels], env=env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert len(http.on(SLACK_PATH)) == 1 and len(http.on("/")) == 1 and len(smtp.messages) == 1
        assert http.on("/")[0].json()["test"] is True
    finally:
        http.close()
        smtp.close()
