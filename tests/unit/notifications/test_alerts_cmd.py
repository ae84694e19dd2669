"""``purpose-lineage alerts preview|test``."""

from __future__ import annotations

import json

import jsonschema

from purpose_lineage.cli import main
from purpose_lineage.notifications.render import webhook_schema
from purpose_lineage.store import open_store
from purpose_lineage.store.base import Verdict
from tests.helpers.alert_data import incident_violations
from tests.helpers.alert_receivers import SLACK_PATH


def _seeded(tmp_path) -> str:
    url = f"duckdb:///{tmp_path / 'l.duckdb'}"
    with open_store(url, spool_dir=tmp_path / "spool") as store:
        store.record_verdict(
            Verdict.from_violations(
                incident_violations(),
                run_id="r1",
                dag_id="acme",
                task_id="guard",
                sink="ad_audience_acme",
                affected_count=2,
            )
        )
        store.record_verdict(
            Verdict.from_violations([], run_id="r2", dag_id="acme", task_id="guard", sink="ad_audience_acme")
        )
    return url


def test_preview_prints_the_runs_alert_and_exits_1(tmp_path, capsys):
    url = _seeded(tmp_path)
    base = ["alerts", "preview", "--dag-id", "acme", "--store-url", url, "--ui-base-url", "http://ui.test"]
    assert main([*base, "--run-id", "r1"]) == 1
    text = capsys.readouterr().out
    assert text.startswith("[PURPOSE VIOLATION] Purpose violation blocked: ad_audience_acme (acme)")
    assert "Distinct identifiers affected: 2" in text and "Task:                          guard" in text
    assert main([*base, "--run-id", "r1", "--format", "json"]) == 1
    jsonschema.validate(json.loads(capsys.readouterr().out), webhook_schema())
    assert main([*base, "--run-id", "r2"]) == 0  # it passed
    assert "No failed verdict recorded for this run." in capsys.readouterr().out


def test_test_alert_goes_to_every_channel_marked_as_test(connections, capsys):
    args = [
        "alerts",
        "test",
        "--channel",
        "slack:alert_slack",
        "--channel",
        "webhook:alert_webhook",
        "--channel",
        "email:alert_smtp",
    ]
    assert main(args) == 0
    assert main(args) == 0  # no duplicate suppression for tests
    out = capsys.readouterr().out
    summary = [line.split() for line in out.splitlines() if line.split()[:1] and ":" in line.split()[0]]
    assert sorted(
        row[:2] for row in summary if row[0].startswith(("slack:", "webhook:", "email:"))
    ) == sorted([[c, "sent"] for c in ("slack:alert_slack", "webhook:alert_webhook", "email:alert_smtp")] * 2)
    title = "[TEST] Purpose violation blocked: example_sink (purpose_lineage_alert_test)"
    assert connections["http"].on(SLACK_PATH)[0].json()["text"].endswith(title)
    doc = connections["http"].on("/")[0].json()
    assert doc["test"] is True
    assert connections["smtp"].messages[0][1]["Subject"].startswith("[Purpose Lineage] [TEST] ")


def test_test_alert_exits_1_when_a_channel_fails(connections, capsys):
    assert (
        main(["alerts", "test", "--channel", "slack:slack_down", "--max-attempts", "1", "--format", "json"])
        == 1
    )
    out = capsys.readouterr().out  # Airflow's logging may print to stdout before the document
    doc = json.loads(out[out.index("{\n") :])
    assert doc["slack:slack_down"]["status"] == "failed"
