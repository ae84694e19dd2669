"""Real local receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP server.

Both listen on 127.0.0.1 on a free port, record what they receive, and can be told to
refuse the first N deliveries (SMTP 554, HTTP 503) to exercise retries.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers.alert_data import RECIPIENTS


@dataclass
class HttpRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records every POST; answers ``fail_status`` to the first ``fail_first`` of them."""

    fail_first: int = 0
    fail_status: int = 503
    requests: list[HttpRequest] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    if receiver.refused < receiver.fail_first:
                        receiver.refused += 1
                        status = receiver.fail_status
                    else:
                        receiver.requests.append(HttpRequest(self.path, dict(self.headers), body))
                        status = 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"unavailable")

            def log_message(self, *args: Any) -> None:
                pass

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, path: str) -> list[HttpRequest]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """An aiosmtpd server recording each message; answers 554 to the first ``fail_first`` DATA commands."""

    def __init__(self, fail_first: int = 0, fail_reply: str = "554 5.7.1 Message refused"):
        from aiosmtpd.controller import Controller

        self.fail_first = fail_first
        self.fail_reply = fail_reply
        self.refused = 0
        self.messages: list[tuple[list[str], Message, bytes]] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                if receiver.refused < receiver.fail_first:
                    receiver.refused += 1
                    return receiver.fail_reply
                raw = envelope.original_content or envelope.content
                raw = raw if isinstance(raw, bytes) else raw.encode()
                receiver.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(raw), raw))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mail_parts(message: Message) -> dict[str, str]:
    """``{content type: decoded text}`` of a message's leaf parts."""
    parts = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        parts[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return parts


# -- Airflow connections (JSON for AIRFLOW_CONN_<ID>) pointing at the receivers -------------

SLACK_PATH = "/services/T000/B000/XXXX"


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
