"""Each channel through the provider's hook, against real local SMTP and HTTP servers."""

from __future__ import annotations

import json

import jsonschema
import pytest

from purpose_lineage.notifications.channels import (
    EmailChannel,
    PermanentChannelError,
    SlackChannel,
    WebhookChannel,
    parse_channel,
)
from purpose_lineage.notifications.delivery import RetryPolicy, Status, send_alert
from purpose_lineage.notifications.message import build_alert
from purpose_lineage.notifications.render import webhook_schema
from tests.helpers.alert_data import RECIPIENTS, incident_violations, leaks, leaky_error_text
from tests.helpers.alert_receivers import SLACK_PATH, SmtpReceiver, mail_parts, smtp_conn

QUICK = RetryPolicy(max_attempts=3, backoff_seconds=0.05, max_seconds=5, timeout_seconds=2, grace_seconds=1)


@pytest.fixture
def alert():
    return build_alert(
        dag_id="acme_audience",
        run_id="manual__1",
        task_id="guard",
        violations=incident_violations(),
        affected_count=2,
        ui_base_url="http://airflow.test",
        error=leaky_error_text(),
    )


def test_slack_posts_block_kit_to_the_webhook_url(connections, alert):
    SlackChannel("alert_slack").send(alert, timeout=2)
    (request,) = connections["http"].on(SLACK_PATH)
    body = request.json()
    assert body["blocks"][0]["type"] == "header"
    assert "ad_audience_acme" in body["text"]
    assert leaks(request.body) == []


def test_email_is_multipart_text_and_html(connections, alert):
    EmailChannel("alert_smtp").send(alert, timeout=2)
    ((rcpts, message, raw),) = connections["smtp"].messages
    assert rcpts == list(RECIPIENTS)
    assert (
        message["Subject"] == "[Purpose Lineage] Purpose violation blocked: ad_audience_acme (acme_audience)"
    )
    assert message["From"] == "airflow@alerts.test"
    assert message["X-Purpose-Lineage-Alert"] == "purpose_violation"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]
    parts = mail_parts(message)
    assert parts["text/plain"].startswith("[PURPOSE VIOLATION]")
    assert "<table" in parts["text/html"] and "INDIRECT/JOIN" in parts["text/html"]
    assert leaks(raw) == [] and all(leaks(p) == [] for p in parts.values())


def test_email_recipients_from_arguments_override_the_connection(connections, alert):
    EmailChannel("alert_smtp", to=("a@alerts.test",), cc=("b@alerts.test",), from_email="x@alerts.test").send(
        alert, timeout=2
    )
    ((rcpts, message, _),) = connections["smtp"].messages
    assert rcpts == ["a@alerts.test", "b@alerts.test"] and message["From"] == "x@alerts.test"


def test_webhook_posts_the_schema_document_with_connection_headers(connections, alert):
    WebhookChannel("alert_webhook", endpoint="/hooks/siem").send(alert, timeout=2)
    (request,) = connections["http"].on("/hooks/siem")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer t0k"
    jsonschema.validate(request.json(), webhook_schema())
    assert request.json()["dedupKey"] == alert.dedup_key
    assert leaks(request.body) == []


def test_unconfigured_channels_fail_permanently(connections, alert, monkeypatch):
    with pytest.raises(PermanentChannelError, match="not defined"):
        SlackChannel("no_such_conn").send(alert, timeout=1)
    monkeypatch.setenv("AIRFLOW_CONN_NO_TO", smtp_conn(connections["smtp"].port, to=""))
    with pytest.raises(PermanentChannelError, match="no recipient"):
        EmailChannel("no_to").send(alert, timeout=1)


def test_channels_down_are_retried_and_do_not_stop_the_others(connections, alert, caplog):
    channels = [
        "slack:slack_down",
        "email:smtp_down",
        "webhook:webhook_down",
        "slack:alert_slack",
        "email:alert_smtp",
        WebhookChannel("alert_webhook", "/siem"),
    ]
    out = send_alert(alert, channels, policy=QUICK)
    for down in ("slack:slack_down", "email:smtp_down", "webhook:webhook_down"):
        assert out[down].status is Status.FAILED and out[down].attempts == 3, down
        assert f"Alert channel {down} failed (attempt 3/3)" in caplog.text
    for up in ("slack:alert_slack", "email:alert_smtp", "webhook:alert_webhook"):
        assert out[up].status is Status.SENT and out[up].attempts == 1, up
    assert len(connections["smtp"].messages) == 1
    assert len(connections["http"].on(SLACK_PATH)) == 1 and len(connections["http"].on("/siem")) == 1


def test_smtp_refusing_with_5xx_is_retried_until_it_accepts(monkeypatch, alert, caplog):
    refusing = SmtpReceiver(fail_first=2)
    try:
        monkeypatch.setenv("AIRFLOW_CONN_REFUSING", smtp_conn(refusing.port))
        waits: list[float] = []
        out = send_alert(alert, ["email:refusing"], policy=QUICK, sleep=waits.append)
        assert out["email:refusing"].status is Status.SENT and out["email:refusing"].attempts == 3
        assert waits == [0.05, 0.1] and refusing.refused == 2 and len(refusing.messages) == 1
        assert "554" in caplog.text
    finally:
        refusing.close()


def test_http_5xx_is_retried(connections, alert):
    connections["http"].fail_first = 1
    out = send_alert(alert, ["webhook:alert_webhook"], policy=QUICK, sleep=lambda s: None)
    assert out["webhook:alert_webhook"].attempts == 2 and out["webhook:alert_webhook"].status is Status.SENT
    assert json.loads(connections["http"].requests[0].body)["kind"] == "purpose_violation"


def test_parse_channel():
    assert parse_channel("email:smtp_default") == EmailChannel("smtp_default")
    with pytest.raises(ValueError, match="bad channel"):
        parse_channel("sms:x")
