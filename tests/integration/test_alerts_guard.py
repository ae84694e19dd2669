"""Alerts from the real PurposeGuardOperator: the example incident ``tailored_audiences_violating``.

The example DAGs are copied to a temporary dags folder and the violating one gets the
notifier three times (the guard's ``notifier=``, the guard's ``on_failure_callback`` and the
DAG's ``on_failure_callback``): each channel must receive exactly one alert, naming the
JOIN path, the count and the guard's reasons, and no identifier of the warehouse.

Skipped where the guard or the example runner is not in this checkout (the alerts branch
before it meets main).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import jsonschema
import pytest

from purpose_lineage.notifications.render import webhook_schema
from tests.helpers.alert_receivers import (
    SLACK_PATH,
    HttpReceiver,
    SmtpReceiver,
    http_conn,
    mail_parts,
    slack_conn,
    smtp_conn,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("purpose_lineage.operators.guard") is None
        or not (ROOT / "scripts" / "run_examples.py").exists()
        or not (ROOT / "dags" / "tailored_audiences_violating.py").exists(),
        reason="needs PurposeGuardOperator and the example DAGs (main)",
    ),
]
DAG_ID = "tailored_audiences_violating"
RUNNER = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import run_examples as rx
rx.prepare_environment(__import__("pathlib").Path(sys.argv[2]))
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = sys.argv[3]
rx.migrate()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[3])
assert not bag.import_errors, bag.import_errors
for dag_id in sys.argv[4:]:
    dr = bag.get_dag(dag_id).test()
    print("RESULT " + json.dumps({"dag_id": dag_id, "run_id": dr.run_id, "state": str(dr.state)}), flush=True)
"""
NOTIFIER = (
    'send_purpose_alert(slack_conn_id="alert_slack", smtp_conn_id="alert_smtp", '
    'webhook_conn_id="alert_webhook", webhook_endpoint="/siem", max_attempts=2, backoff_seconds=0.1)'
)


def _patch(dag_file: Path) -> None:
    text = dag_file.read_text()
    text = text.replace(
        "from purpose_lineage.operators.guard import PurposeGuardOperator",
        "from purpose_lineage.notifications.alert import send_purpose_alert\n"
        "from purpose_lineage.operators.guard import PurposeGuardOperator\n"
        f"ALERTS = {NOTIFIER}",
    )
    text = text.replace(
        f'with DAG("{DAG_ID}", **DAG_ARGS)', f'with DAG("{DAG_ID}", **DAG_ARGS, on_failure_callback=ALERTS)'
    )
    text = text.replace(
        'identifier_columns=["match_key"],\n    )',
        'identifier_columns=["match_key"],\n'
        "        notifier=ALERTS,\n"
        "        on_failure_callback=ALERTS,\n"
        "    )",
    )
    assert text.count("ALERTS") == 4, "the example DAG changed: update this test's patch"
    dag_file.write_text(text)


def _identifiers(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        values = [r[0] for r in con.execute("SELECT phone_number FROM main.users_2fa").fetchall() if r[0]]
    needles = set()
    for v in values:
        for form in {v, v.lstrip("+")}:
            needles |= {
                form,
                hashlib.sha256(form.encode()).hexdigest(),
                hashlib.md5(form.encode()).hexdigest(),
            }  # noqa: S324
    return needles


@pytest.fixture(scope="module")
def guard_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guard-alerts")
    dags = tmp / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    _patch(dags / f"{DAG_ID}.py")
    http, smtp = HttpReceiver(), SmtpReceiver()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PURPOSE_LINEAGE"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
        AIRFLOW_CONN_ALERT_SLACK=slack_conn(http.url),
        AIRFLOW_CONN_ALERT_SMTP=smtp_conn(smtp.port),
        AIRFLOW_CONN_ALERT_WEBHOOK=http_conn(http.url),
    )
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                RUNNER,
                str(ROOT / "scripts"),
                str(tmp / "home"),
                str(dags),
                "incident_sources",
                DAG_ID,
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        output = out.stdout + out.stderr
        results = {
            r["dag_id"]: r
            for r in (json.loads(x[7:]) for x in out.stdout.splitlines() if x.startswith("RESULT "))
        }
        assert out.returncode == 0 and DAG_ID in results, output[-5000:]
        yield {
            "result": results[DAG_ID],
            "http": list(http.requests),
            "mails": list(smtp.messages),
            "output": output,
            "identifiers": _identifiers(tmp / "home" / "warehouse.duckdb"),
        }
    finally:
        http.close()
        smtp.close()


def test_one_alert_per_channel_with_the_join_path(guard_run):
    assert guard_run["result"]["state"] == "failed"
    slack = [r for r in guard_run["http"] if r.path == SLACK_PATH]
    webhook = [r for r in guard_run["http"] if r.path == "/siem"]
    assert len(slack) == len(webhook) == len(guard_run["mails"]) == 1  # guard + task + DAG callbacks
    doc = webhook[0].json()
    jsonschema.validate(doc, webhook_schema())
    assert (
        doc["kind"] == "purpose_violation" and doc["dagId"] == DAG_ID and doc["taskId"] == "guard_and_publish"
    )
    assert doc["runId"] == guard_run["result"]["run_id"]
    assert doc["affectedCount"] and doc["affectedCount"] > 0 and doc["sinkState"] == "unchanged"
    assert any(
        v["pathText"].startswith("main.users_2fa.phone_number [essential.service.security] -> INDIRECT/JOIN")
        for v in doc["violations"]
    )
    assert doc["reasons"] and doc["links"]["dataDocs"].startswith("file://")
    text = mail_parts(guard_run["mails"][0][1])["text/plain"]
    assert text.startswith("[PURPOSE VIOLATION] Purpose violation blocked: main.ad_audience_acme")
    assert guard_run["output"].count("already sent to webhook:alert_webhook; suppressed") == 2


def test_no_warehouse_identifier_in_any_alert(guard_run):
    needles = guard_run["identifiers"]
    assert len(needles) > 100
    bodies = [r.body.decode() for r in guard_run["http"]] + [raw.decode() for _, _, raw in guard_run["mails"]]
    for _, mail, _ in guard_run["mails"]:
        bodies += list(mail_parts(mail).values())
    for body in bodies:
        low = body.lower()
        assert [n for n in needles if n.lower() in low] == []
