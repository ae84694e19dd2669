"""Real local receivers and the Airflow connections pointing at them."""

from __future__ import annotations

import pytest

from tests.helpers.alert_receivers import (
    HttpReceiver,
    SmtpReceiver,
    free_port,
    http_conn,
    slack_conn,
    smtp_conn,
)


@pytest.fixture
def http_receiver():
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_receiver():
    receiver = SmtpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def connections(monkeypatch, http_receiver, smtp_receiver):
    """alert_slack / alert_smtp / alert_webhook at the receivers; *_down ones at a closed port."""
    closed = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_ALERT_SLACK", slack_conn(http_receiver.url))
    monkeypatch.setenv("AIRFLOW_CONN_ALERT_SMTP", smtp_conn(smtp_receiver.port))
    monkeypatch.setenv("AIRFLOW_CONN_ALERT_WEBHOOK", http_conn(http_receiver.url, Authorization="Bearer t0k"))
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_DOWN", slack_conn(f"http://127.0.0.1:{closed}"))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DOWN", smtp_conn(closed))
    monkeypatch.setenv("AIRFLOW_CONN_WEBHOOK_DOWN", http_conn(f"http://127.0.0.1:{closed}"))
    return {"http": http_receiver, "smtp": smtp_receiver}
