"""``PurposeAlertNotifier``: alert on failed runs of guarded DAGs, saying what flowed where.

Attach it as a task-level or DAG-level ``on_failure_callback``. On a failure it reads what
the guard recorded (the run's failed verdicts in the lineage store, the
:class:`~purpose_lineage.errors.PolicyViolationError` behind the task's exception, the
guard's XCom summary), builds an :class:`~purpose_lineage.notifications.message.Alert` from
that metadata and sends it to every channel at once (see
:mod:`~purpose_lineage.notifications.delivery`). A failure without a violation (any other
task of the DAG) still alerts, labelled as a task failure with no path.

Usage::

    from purpose_lineage.notifications.alert import send_purpose_alert

    with DAG(..., on_failure_callback=send_purpose_alert(slack_conn_id="purpose_alerts_slack")):
        guard = PurposeGuardOperator(
            ...,
            on_failure_callback=send_purpose_alert(
                smtp_conn_id="smtp_default", email_to=["privacy@example.com"], webhook_conn_id="siem"
            ),
        )

The notifier never raises: a callback that cannot alert logs a warning, and the task's own
failure is reported by Airflow as usual. The guard can send by itself with
:func:`send_alert` and :func:`~purpose_lineage.notifications.message.build_alert`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from airflow.sdk import BaseNotifier

from purpose_lineage import config
from purpose_lineage.notifications.channels import (
    Channel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
    parse_channel,
)
from purpose_lineage.notifications.delivery import Outcome, RetryPolicy, send_alert
from purpose_lineage.notifications.ledger import AlertLedger, open_ledger
from purpose_lineage.notifications.message import Alert, build_alert, latest_failed
from purpose_lineage.notifications.scrub import scrub, scrubbed_traceback

log = logging.getLogger(__name__)

# the guard's XCom summary: sink, passed, violations, affected_identifiers, data_docs, reasons,
# published_table_state (affected_count, sink_state, data_docs_url and sinks are read too)
GUARD_XCOM_KEY = "purpose_guard"


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(a.strip() for a in value.replace(";", ",").split(",") if a.strip())
    return tuple(value)


class PurposeAlertNotifier(BaseNotifier):
    """Send a purpose-lineage alert for a failed task or DAG run.

    :param slack_conn_id: ``slack_incoming_webhook`` connection (Block Kit message).
    :param smtp_conn_id: ``smtp`` connection (text + HTML e-mail).
    :param email_to: recipients; default: the ``to`` field of the SMTP connection's extra.
    :param email_cc: copy recipients; default: the ``cc`` field of the extra.
    :param from_email: sender; default: the SMTP connection's ``from_email``.
    :param webhook_conn_id: ``http`` connection receiving the ``PurposeAlert.json`` document.
    :param webhook_endpoint: path appended to the HTTP connection's base URL.
    :param channels: more channels, as ``"kind:conn_id"`` or channel objects. With no channel
        at all, ``[purpose_lineage] alert_channels`` is used.
    :param store_url: lineage store to read verdicts from; default ``[purpose_lineage] store_url``.
    :param ui_base_url: Airflow UI base URL for the lineage-view link.
    :param data_docs_url: Data Docs link; default: the guard's XCom summary, then config.
    :param ledger: duplicate suppression, see ``[purpose_lineage] alert_ledger``.
    :param max_attempts: attempts per channel (default config ``alert_max_attempts``).
    :param backoff_seconds: first wait between attempts, doubling.
    :param max_seconds: most seconds one channel keeps retrying.
    :param timeout_seconds: timeout of one attempt.
    """

    template_fields: Sequence[str] = (
        "slack_conn_id",
        "smtp_conn_id",
        "email_to",
        "email_cc",
        "from_email",
        "webhook_conn_id",
        "webhook_endpoint",
        "ui_base_url",
        "data_docs_url",
    )

    def __init__(
        self,
        *,
        slack_conn_id: str | None = None,
        smtp_conn_id: str | None = None,
        email_to: str | Iterable[str] | None = None,
        email_cc: str | Iterable[str] | None = None,
        from_email: str | None = None,
        webhook_conn_id: str | None = None,
        webhook_endpoint: str = "",
        channels: Iterable[Channel | str] = (),
        store_url: str | None = None,
        ui_base_url: str | None = None,
        data_docs_url: str | None = None,
        ledger: str | AlertLedger | None = None,
        max_attempts: int | None = None,
        backoff_seconds: float | None = None,
        max_seconds: float | None = None,
        timeout_seconds: float | None = None,
    ):
        super().__init__()
        self.slack_conn_id = slack_conn_id
        self.smtp_conn_id = smtp_conn_id
        self.email_to = email_to
        self.email_cc = email_cc
        self.from_email = from_email
        self.webhook_conn_id = webhook_conn_id
        self.webhook_endpoint = webhook_endpoint
        self.extra_channels = tuple(channels)
        self.store_url = store_url
        self.ui_base_url = ui_base_url
        self.data_docs_url = data_docs_url
        self.ledger = ledger
        self.retry_overrides = {
            k: v
            for k, v in {
                "max_attempts": max_attempts,
                "backoff_seconds": backoff_seconds,
                "max_seconds": max_seconds,
                "timeout_seconds": timeout_seconds,
            }.items()
            if v is not None
        }
        self.last_outcomes: dict[str, Outcome] = {}
        self.last_alert: Alert | None = None

    # -- pieces ------------------------------------------------------------------------------

    @cached_property
    def store(self) -> Any:
        """The lineage store, or None if it cannot be opened (the alert still goes out)."""
        from purpose_lineage.store import open_store

        try:
            return open_store(self.store_url or config.store_url(), spool_dir=config.spool_dir())
        except Exception as e:
            log.warning(
                "Purpose alert: lineage store not available (%s); alerting without verdicts", scrub(e)
            )
            log.debug("store open failure:\n%s", scrubbed_traceback(e))
            return None

    def channels(self) -> list[Channel]:
        found: list[Channel] = []
        if self.slack_conn_id:
            found.append(SlackChannel(self.slack_conn_id))
        if self.smtp_conn_id:
            found.append(
                EmailChannel(
                    self.smtp_conn_id, _as_tuple(self.email_to), _as_tuple(self.email_cc), self.from_email
                )
            )
        if self.webhook_conn_id:
            found.append(WebhookChannel(self.webhook_conn_id, self.webhook_endpoint or ""))
        specs = self.extra_channels or (() if found else config.alert_channels())
        found += [parse_channel(c) for c in specs]
        return found

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(**{**config.alert_retry(), **self.retry_overrides})

    def open_ledger(self) -> AlertLedger:
        if self.ledger is not None and not isinstance(self.ledger, str):
            return self.ledger
        return open_ledger(
            self.ledger or config.alert_ledger(), spool_dir=config.spool_dir(), store=self.store
        )

    # -- BaseNotifier ----------------------------------------------------------------------

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        try:
            super().render_template_fields(context, jinja_env)
        except Exception as e:
            # 'SerializedDAG' has no get_template_env under dag.test(): render without the DAG's env
            log.debug("Purpose alert: DAG template env unavailable (%s); using a plain one", e)
            self._do_render_template_fields(
                self, self.template_fields, context, self.get_template_env(), set()
            )

    def __call__(self, *args: Any) -> None:
        try:
            super().__call__(*args)
        except Exception as e:  # never let an alert failure mask or replace the task's own failure
            log.warning("Purpose alert failed: %s", scrub(e))
            log.debug("Purpose alert traceback:\n%s", scrubbed_traceback(e))

    def notify(self, context: Mapping[str, Any]) -> None:
        try:
            alert = self.build_alert(context)
            self.last_alert = alert
            self.last_outcomes = send_alert(
                alert, self.channels(), policy=self.retry_policy(), ledger=self.open_ledger()
            )
            failed = [name for name, outcome in self.last_outcomes.items() if not outcome.ok]
            if failed:
                log.warning("Purpose alert for %s/%s not delivered to %s", alert.dag_id, alert.run_id, failed)
        except Exception as e:
            log.warning("Purpose alert could not be sent: %s", scrub(e))
            log.debug("Purpose alert traceback:\n%s", scrubbed_traceback(e))
        finally:
            self._close_store()

    async def async_notify(self, context: Mapping[str, Any]) -> None:
        """The same as :meth:`notify`, off the event loop (triggerer, deadline alerts)."""
        import asyncio

        await asyncio.to_thread(self.notify, context)

    def _close_store(self) -> None:
        store = self.__dict__.pop("store", None)
        if store is not None:
            try:
                store.close()
            except Exception as e:
                log.debug("store close failure: %s", scrub(e))

    # -- context -> alert -----------------------------------------------------------------

    def build_alert(self, context: Mapping[str, Any]) -> Alert:
        """Gather what the guard recorded about this failure into an :class:`Alert`."""
        ti = context.get("ti") or context.get("task_instance")
        dag, dag_run = context.get("dag"), context.get("dag_run")
        dag_id = _first(
            getattr(ti, "dag_id", None), getattr(dag, "dag_id", None), getattr(dag_run, "dag_id", None)
        )
        run_id = _first(context.get("run_id"), getattr(ti, "run_id", None), getattr(dag_run, "run_id", None))
        task_id = getattr(ti, "task_id", None)
        exception = context.get("exception")
        dag_level = "reason" in context  # DAG callbacks carry the reason; the ti is the last failed task
        notes: list[str] = []

        violations: list[Any] = list(_policy_violations(exception))
        verdicts = self._failed_verdicts(run_id, dag_id, None if dag_level else task_id, notes)
        for verdict in verdicts:
            violations.extend(verdict.violations)
        summary = _xcom_summary(ti)
        guard_failed = bool(verdicts) or summary.get("passed") is False
        if summary.get("passed") is False:
            violations.extend(v for v in summary.get("violations") or () if isinstance(v, Mapping))
        affected = [v.affected_count for v in verdicts if v.affected_count is not None]
        affected_count = (
            sum(affected) if affected else _int(_get(summary, "affected_count", "affected_identifiers"))
        )
        if exception is None and not violations and dag_level:
            notes.append(f"DAG run failed ({context.get('reason') or 'task failure'}).")
        sink = summary.get("sink")
        return build_alert(
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            failed_at=_first(getattr(ti, "end_date", None), datetime.now(UTC)),
            violations=violations,
            affected_count=affected_count,
            sink_state=_get(summary, "sink_state", "published_table_state") if guard_failed else None,
            sinks=[v.sink for v in verdicts]
            + ([sink] if isinstance(sink, str) and sink else [])
            + [s for s in summary.get("sinks") or () if isinstance(s, str)],
            try_number=getattr(ti, "try_number", None),
            error=exception,
            ui_base_url=self.ui_base_url or config.ui_base_url(),
            data_docs_url=self.data_docs_url
            or _docs_link(_get(summary, "data_docs_url", "data_docs"))
            or config.data_docs_url()
            or None,
            log_url=_log_url(ti),
            notes=notes,
            reasons=[r for r in summary.get("reasons") or () if isinstance(r, str)] if guard_failed else (),
            guard_failed=guard_failed,
        )

    def _failed_verdicts(self, run_id: str, dag_id: str, task_id: str | None, notes: list[str]) -> list[Any]:
        """The latest verdict per (task, sink) of this run, if it failed."""
        if not run_id or self.store is None:
            return []
        try:
            verdicts = self.store.verdicts_for(run_id=run_id)
        except Exception as e:
            log.warning("Purpose alert: verdicts of %s not readable: %s", run_id, scrub(e))
            notes.append("The lineage store could not be read: paths may be missing from this alert.")
            return []
        return latest_failed(verdicts, dag_id=dag_id, task_id=task_id)


def _first(*values: Any) -> Any:
    return next((v for v in values if v), values[-1])


def _get(summary: Mapping[str, Any], *keys: str) -> Any:
    """The first key present: the guard's summary spells some fields two ways."""
    return next((summary[k] for k in keys if summary.get(k) is not None), None)


def _docs_link(value: Any) -> str | None:
    """A Data Docs URL, or a local Data Docs path as a ``file://`` URI."""
    if not isinstance(value, str) or not value:
        return None
    if "://" in value:
        return value
    from pathlib import Path

    path = Path(value)
    return path.as_uri() if path.is_absolute() else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _policy_violations(exception: BaseException | None) -> list[Any]:
    """Violations of the PolicyViolationError raised as, or behind, the task's exception."""
    from purpose_lineage.errors import PolicyViolationError

    seen: set[int] = set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        if isinstance(exception, PolicyViolationError):
            return list(exception.violations)
        exception = exception.__cause__ or exception.__context__
    return []


def _xcom_summary(ti: Any) -> dict[str, Any]:
    if ti is None or not hasattr(ti, "xcom_pull"):
        return {}
    try:
        value = ti.xcom_pull(task_ids=ti.task_id, key=GUARD_XCOM_KEY)
    except Exception as e:
        log.debug("Purpose alert: no guard XCom summary (%s)", scrub(e))
        return {}
    return dict(value) if isinstance(value, Mapping) else {}


def _log_url(ti: Any) -> str | None:
    try:
        url = getattr(ti, "log_url", None)
    except Exception:
        return None
    return url if isinstance(url, str) and url.startswith("http") else None


send_purpose_alert = PurposeAlertNotifier

__all__ = [
    "GUARD_XCOM_KEY",
    "PurposeAlertNotifier",
    "RetryPolicy",
    "build_alert",
    "send_alert",
    "send_purpose_alert",
]
