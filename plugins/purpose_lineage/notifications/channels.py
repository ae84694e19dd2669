"""Alert channels: Slack incoming webhook, e-mail over SMTP, generic JSON webhook.

Each channel reads its endpoint, recipients and secrets from an Airflow connection and sends
one rendered alert per call, through the provider's hook:

* :class:`SlackChannel`: ``slack_incoming_webhook`` connection, ``SlackWebhookHook`` (Block Kit);
* :class:`EmailChannel`: ``smtp`` connection, ``SmtpHook`` (multipart text + HTML);
* :class:`WebhookChannel`: ``http`` connection, ``HttpHook`` (``PurposeAlert.json`` document).

``send()`` raises on failure; retries, backoff and logging live in
:mod:`purpose_lineage.notifications.delivery`. A :class:`PermanentChannelError` (a channel
that is not configured) is not retried. The providers' own retry loops are switched off so
that one policy bounds every channel.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from purpose_lineage.notifications.render import (
    render_html,
    render_slack,
    render_subject,
    render_text,
    render_webhook,
)

if TYPE_CHECKING:
    from purpose_lineage.notifications.message import Alert

KINDS = ("slack", "email", "webhook")


class PermanentChannelError(Exception):
    """The channel cannot work as configured (no connection, no recipient): retrying is pointless."""


class Channel(Protocol):
    @property
    def name(self) -> str:
        """``<kind>:<conn_id>``: names the channel in logs, outcomes and the ledger."""

    def send(self, alert: Alert, *, timeout: float) -> None:
        """Send ``alert`` once, waiting at most about ``timeout`` seconds; raise on failure."""


def prepare(channel: Any) -> None:
    """Import what ``channel`` needs, in the calling thread, before channels send concurrently.

    A process that has not imported Airflow yet (the CLI, a guard sending by itself) would
    otherwise import it from several threads at once: Python's import locks can then report a
    deadlock, and Airflow's logging set-up runs twice.
    """
    hook = {
        SlackChannel: "airflow.providers.slack.hooks.slack_webhook",
        EmailChannel: "airflow.providers.smtp.hooks.smtp",
        WebhookChannel: "airflow.providers.http.hooks.http",
    }.get(type(channel))
    if hook is None:
        return
    import importlib

    importlib.import_module("airflow.sdk")
    importlib.import_module(hook)


def _connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as e:  # AirflowNotFoundException and friends
        raise PermanentChannelError(f"connection {conn_id!r} is not defined ({type(e).__name__})") from e


@dataclass(frozen=True)
class SlackChannel:
    """Slack incoming webhook; ``conn_id`` is a ``slack_incoming_webhook`` connection."""

    conn_id: str

    @property
    def name(self) -> str:
        return f"slack:{self.conn_id}"

    def send(self, alert: Alert, *, timeout: float) -> None:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        _connection(self.conn_id)
        # retry_handlers=[]: slack_sdk's own retry would multiply with ours
        hook = SlackWebhookHook(
            slack_webhook_conn_id=self.conn_id, timeout=max(1, math.ceil(timeout)), retry_handlers=[]
        )
        hook.send_dict(render_slack(alert))


@dataclass(frozen=True)
class EmailChannel:
    """E-mail via an ``smtp`` connection; recipients from ``to``/``cc`` or the connection extra ``to``."""

    conn_id: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    from_email: str | None = None

    @property
    def name(self) -> str:
        return f"email:{self.conn_id}"

    def send(self, alert: Alert, *, timeout: float) -> None:
        conn = _connection(self.conn_id)
        to = list(self.to) or _addresses(conn.extra_dejson.get("to"))
        cc = list(self.cc) or _addresses(conn.extra_dejson.get("cc"))
        if not to:
            raise PermanentChannelError(
                f"no recipient: pass email_to or set 'to' in the extra of {self.conn_id!r}"
            )
        if not (self.from_email or conn.extra_dejson.get("from_email")):
            raise PermanentChannelError(
                f"no sender: pass from_email or set it in the extra of {self.conn_id!r}"
            )
        hook = _alert_smtp_hook_class()(smtp_conn_id=self.conn_id, timeout=timeout, text=render_text(alert))
        with hook:
            hook.send_email_smtp(
                to=to,
                cc=cc or None,
                subject=render_subject(alert),
                html_content=render_html(alert),
                from_email=self.from_email,
                custom_headers={"X-Purpose-Lineage-Alert": alert.kind.value},
            )


def _addresses(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.replace(";", ",").split(",") if a.strip()]
    return [str(a) for a in value]


@functools.cache
def _alert_smtp_hook_class() -> type:
    """SmtpHook sending multipart/alternative (text, then HTML), with our timeout and no inner retry."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    from airflow.providers.smtp.hooks.smtp import SmtpHook

    class AlertSmtpHook(SmtpHook):
        def __init__(self, *, smtp_conn_id: str, timeout: float, text: str):
            super().__init__(smtp_conn_id=smtp_conn_id)
            self._alert_timeout = timeout
            self._alert_text = text

        @property
        def smtp_retry_limit(self) -> int:
            return 0

        @property
        def timeout(self) -> int:
            return max(1, math.ceil(self._alert_timeout))

        def _build_mime_message(self, mail_from, to, subject, html_content, *args, **kwargs):
            # SmtpHook attaches HTML only; an alert must also read in a text-only client
            msg, recipients = super()._build_mime_message(
                mail_from, to, subject, html_content, *args, **kwargs
            )
            alternative = MIMEMultipart("alternative")
            alternative.attach(MIMEText(self._alert_text, "plain", "utf-8"))
            alternative.attach(MIMEText(html_content, "html", "utf-8"))
            for key, value in msg.items():
                alternative[key] = value
            return alternative, recipients

    return AlertSmtpHook


@dataclass(frozen=True)
class WebhookChannel:
    """POST the alert document to an ``http`` connection (+ ``endpoint``); headers from its extra."""

    conn_id: str
    endpoint: str = ""

    @property
    def name(self) -> str:
        return f"webhook:{self.conn_id}"

    def send(self, alert: Alert, *, timeout: float) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        _connection(self.conn_id)
        hook = HttpHook(method="POST", http_conn_id=self.conn_id)
        hook.run(
            self.endpoint,
            json=render_webhook(alert),
            headers={"Content-Type": "application/json"},
            extra_options={"timeout": timeout, "check_response": True},
        )


def parse_channel(spec: Channel | str) -> Channel:
    """A channel from itself or from ``"slack:<conn_id>"``, ``"email:<conn_id>"``, ``"webhook:<conn_id>"``.

    >>> parse_channel("webhook:siem").name
    'webhook:siem'
    """
    if not isinstance(spec, str):
        return spec
    kind, _, conn_id = spec.partition(":")
    if not conn_id or kind not in KINDS:
        raise ValueError(f"bad channel {spec!r}: expected <kind>:<conn_id> with kind in {KINDS}")
    return {"slack": SlackChannel, "email": EmailChannel, "webhook": WebhookChannel}[kind](conn_id)


__all__ = [
    "Channel",
    "EmailChannel",
    "PermanentChannelError",
    "SlackChannel",
    "WebhookChannel",
    "parse_channel",
]
