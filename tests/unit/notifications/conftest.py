"""Real local receivers and the Airflow connections pointing at them."""

from __future__ import annotations

import json

import pytest

from tests.helpers.alert_data import RECIPIENTS
from tests.helpers.alert_receivers import HttpReceiver, SmtpReceiver, free_port

SLACK_PATH = "/services/T000/B000/XXXX"


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


def smtp_conn(port: int, **extra) -> str:
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {
                "from_email": "airflow@alerts.test",
                "disable_ssl": True,
                "disable_tls": True,
                "to": ",".join(RECIPIENTS),
                **extra,
            },
        }
    )


def slack_conn(url: str) -> str:
    return json.dumps({"conn_type": "slack_incoming_webhook", "password": url + SLACK_PATH})


def http_conn(url: str, **extra) -> str:
    return json.dumps({"conn_type": "http", "host": url, "extra": extra})


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
