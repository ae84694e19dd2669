"""Text, HTML, Slack Block Kit and webhook JSON renderings of an alert."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from purpose_lineage.notifications.message import build_alert
from purpose_lineage.notifications.render import (
    MAX_PATHS_SHOWN,
    render_html,
    render_slack,
    render_subject,
    render_text,
    render_webhook,
    webhook_schema,
)
from tests.helpers.alert_data import PHONES, incident_violations, leaks, leaky_error_text

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def violation_alert():
    return build_alert(
        dag_id="acme_audience",
        run_id="manual__2026-05-01T10:00:00+00:00",
        task_id="guard",
        violations=incident_violations(),
        affected_count=3,
        ui_base_url="http://airflow.test",
        data_docs_url="http://docs.test/gx/index.html",
        try_number=1,
        error=leaky_error_text(),
        log_url="http://airflow.test/log?x=1&y=<2>",
    )


@pytest.fixture
def failure_alert():
    return build_alert(
        dag_id="acme_audience",
        run_id="r1",
        task_id="extract",
        error=OSError("disk <full> & gone"),
        ui_base_url="http://airflow.test",
    )


class _Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs)["href"])

    def handle_data(self, data):
        self.text.append(data)


def test_text_lists_every_fact_and_path(violation_alert):
    text = render_text(violation_alert)
    lines = text.splitlines()
    assert lines[0] == "[PURPOSE VIOLATION] Purpose violation blocked: ad_audience_acme (acme_audience)"
    for fact in (
        "DAG:",
        "Run:",
        "Task:",
        "Failed at:",
        "Rule broken:",
        "Distinct identifiers affected:",
        "Published table:",
    ):
        assert sum(line.startswith(fact) for line in lines) == 1, fact
    assert "  1. users_2fa.phone_number [essential.service.security] -> INDIRECT/JOIN" in text
    assert (
        "  2. users_2fa.phone_number [essential.service.security] -> DIRECT/TRANSFORMATION (masked)" in text
    )
    assert "Distinct identifiers affected: 3" in text
    assert "ad_audience_acme: unchanged" in text
    assert (
        "Lineage view: http://airflow.test/purpose-lineage/ui/?dag_id=acme_audience&run_id=manual__" in text
    )
    assert "Data Docs: http://docs.test/gx/index.html" in text
    assert leaks(text) == []


def test_html_is_escaped_and_structured(violation_alert, failure_alert):
    page = render_html(violation_alert)
    parsed = _Structure()
    parsed.feed(page)
    assert parsed.tags.count("tr") == 7 and parsed.tags.count("li") == 2
    assert "script" not in parsed.tags
    assert parsed.links[0].startswith("http://airflow.test/purpose-lineage/ui/?dag_id=acme_audience&run_id=")
    assert "http://airflow.test/log?x=1&y=<2>" in parsed.links  # unescaped again by the parser
    assert "&amp;y=&lt;2&gt;" in page
    assert leaks(page) == []
    failure = render_html(failure_alert)
    assert "disk &lt;full&gt; &amp; gone" in failure and "<full>" not in failure


def test_slack_is_block_kit(violation_alert, failure_alert):
    for alert in (violation_alert, failure_alert):
        payload = render_slack(alert)
        assert set(payload) == {"text", "blocks"} and payload["text"]
        types = [b["type"] for b in payload["blocks"]]
        assert types[0] == "header" and "section" in types and types[-1] == "context"
        for block in payload["blocks"]:
            assert block["type"] in {"header", "section", "context"}
            texts = (
                [block["text"]] if "text" in block else block.get("fields", []) + block.get("elements", [])
            )
            assert texts
            for t in texts:
                assert t["type"] == ("plain_text" if block["type"] == "header" else "mrkdwn")
                assert 0 < len(t["text"]) < 3000
        assert len(payload["blocks"]) <= 50
        assert leaks(json.dumps(payload)) == []
    body = json.dumps(render_slack(failure_alert))
    assert "disk &lt;full&gt; &amp; gone" in body
    footer = render_slack(violation_alert)["blocks"][-1]["elements"][0]["text"]
    assert "|Lineage view>" in footer and "|Data Docs>" in footer


def test_slack_caps_paths_and_says_how_many_are_hidden():
    many = [
        v.__class__(**{**v.__dict__, "sink_column": f"c{i}"})
        for i, v in enumerate(incident_violations() * 10)
    ]
    payload = render_slack(build_alert(dag_id="d", run_id="r", violations=many))
    paths = [b for b in payload["blocks"] if "text" in b and b["text"]["text"].startswith("*Path")]
    assert len(paths) == MAX_PATHS_SHOWN
    assert "and 10 more paths" in json.dumps(payload)


def test_webhook_document_matches_its_schema(violation_alert, failure_alert):
    schema = webhook_schema()
    for alert in (violation_alert, failure_alert):
        doc = render_webhook(alert)
        jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())
        assert leaks(json.dumps(doc)) == []
    doc = render_webhook(violation_alert)
    assert doc["kind"] == "purpose_violation" and doc["severity"] == "critical"
    assert doc["affectedCount"] == 3 and doc["sinkState"] == "unchanged"
    assert [s["edge"] for s in doc["violations"][0]["path"]] == [None, "INDIRECT/JOIN", "DIRECT/IDENTITY"]
    assert doc["violations"][1]["path"][1]["masked"] is True
    assert render_webhook(failure_alert)["violations"] == []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "kind": "other"}, schema)


def test_shipped_schema_equals_the_documented_one():
    doc = ROOT / "docs" / "reference" / "schemas" / "PurposeAlert.json"
    assert json.loads(doc.read_text()) == webhook_schema()


def test_subject_is_one_line(violation_alert, failure_alert):
    assert render_subject(violation_alert) == (
        "[Purpose Lineage] Purpose violation blocked: ad_audience_acme (acme_audience)"
    )
    assert "\n" not in render_subject(failure_alert) and "no purpose violation" in render_subject(
        failure_alert
    )


def test_guard_blocked_renders_its_reasons():
    alert = build_alert(
        dag_id="acme",
        run_id="r",
        task_id="guard",
        sinks=["ad_audience_acme"],
        guard_failed=True,
        reasons=["data checks failed in suite 'ads': <fingerprints> & more", f"leak {PHONES[0]}"],
        affected_count=3,
    )
    text = render_text(alert)
    assert text.startswith("[GUARD BLOCKED] Purpose guard blocked publishing ad_audience_acme (acme)")
    assert "Guard reasons:\n  - data checks failed in suite 'ads': <fingerprints> & more" in text
    assert "Distinct identifiers affected: 3" in text and "ad_audience_acme: unchanged" in text
    page = render_html(alert)
    assert '<ul class="reasons"><li>data checks failed in suite &#x27;ads&#x27;: &lt;fingerprints&gt;' in page
    slack = json.dumps(render_slack(alert))
    assert "*Guard reasons*" in slack and "&lt;fingerprints&gt; &amp; more" in slack
    doc = render_webhook(alert)
    jsonschema.validate(doc, webhook_schema())
    assert doc["kind"] == "guard_blocked" and doc["severity"] == "critical" and len(doc["reasons"]) == 2
    for body in (text, page, slack, json.dumps(doc)):
        assert leaks(body) == []
