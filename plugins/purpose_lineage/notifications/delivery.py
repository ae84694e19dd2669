"""Deliver one alert to several channels: concurrently, retried with backoff, deduplicated, never raising.

Each channel runs in its own thread, so a channel that hangs or keeps failing never delays
another. A channel is tried up to ``max_attempts`` times with exponential backoff
(``backoff_seconds * 2**n``, capped by ``max_backoff_seconds``), and gives up early when the
next wait would exceed ``max_seconds`` since its start. Every attempt is bounded by
``timeout_seconds`` (passed to the hook). Failures are logged at warning level with the
error text scrubbed, tracebacks at debug level. :func:`send_alert` returns one
:class:`Outcome` per channel and never raises.

Duplicates: before sending, a channel claims ``(dag_id, run_id, sink, fingerprint, channel)``
in the ledger (:mod:`~purpose_lineage.notifications.ledger`); a claimed key means the alert was
already delivered there. A channel that fails for good releases its claim.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from purpose_lineage.notifications.channels import Channel, PermanentChannelError, parse_channel, prepare
from purpose_lineage.notifications.ledger import AlertKey, AlertLedger, NullLedger
from purpose_lineage.notifications.scrub import scrub, scrubbed_traceback

if TYPE_CHECKING:
    from purpose_lineage.notifications.message import Alert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard each channel tries. Defaults: 4 attempts, 1 s, 2 s, 4 s apart, 60 s at most."""

    max_attempts: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    max_seconds: float = 60.0
    timeout_seconds: float = 10.0
    grace_seconds: float = 5.0  # beyond the retry budget, before send_alert stops waiting for a channel

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.backoff_seconds, self.max_backoff_seconds, self.max_seconds, self.timeout_seconds) < 0:
            raise ValueError("retry times must not be negative")

    def delay(self, attempt: int) -> float:
        """Wait after failed attempt number ``attempt`` (1-based).

        >>> [RetryPolicy().delay(n) for n in (1, 2, 3, 10)]
        [1.0, 2.0, 4.0, 30.0]
        """
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))


class Status(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # already delivered for this run and violation
    TIMED_OUT = "timed_out"  # still running when the overall deadline passed


@dataclass(frozen=True)
class Outcome:
    """What happened on one channel."""

    status: Status
    attempts: int = 0
    error: str | None = None  # scrubbed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in (Status.SENT, Status.SUPPRESSED)


def _key(alert: Alert, channel: str) -> AlertKey:
    return AlertKey(alert.dag_id, alert.run_id, alert.ledger_sink, alert.dedup_key, channel)


def _claim(ledger: AlertLedger, key: AlertKey) -> bool:
    try:
        return ledger.claim(key)
    except Exception as e:
        log.warning(
            "Alert ledger unavailable (%s); sending %s without duplicate suppression", scrub(e), key.channel
        )
        log.debug("Alert ledger failure:\n%s", scrubbed_traceback(e))
        return True


def _release(ledger: AlertLedger, key: AlertKey) -> None:
    try:
        ledger.release(key)
    except Exception as e:
        log.warning("Could not release alert claim for %s: %s", key.channel, scrub(e))
        log.debug("Alert ledger failure:\n%s", scrubbed_traceback(e))


def _deliver_one(
    alert: Alert,
    channel: Channel,
    policy: RetryPolicy,
    ledger: AlertLedger,
    sleep: Callable[[float], None],
    stop: threading.Event,
) -> Outcome:
    name = channel.name
    key = _key(alert, name)
    if not _claim(ledger, key):
        log.info(
            "Alert %s for %s/%s already sent to %s; suppressed",
            alert.kind.value,
            alert.dag_id,
            alert.run_id,
            name,
        )
        return Outcome(Status.SUPPRESSED)
    start = time.monotonic()
    waited = 0.0  # with a real sleep this is part of the elapsed time; with a test's recorder it is not
    attempt = 0
    error = ""
    while True:
        attempt += 1
        try:
            channel.send(alert, timeout=policy.timeout_seconds)
        except Exception as e:
            error = f"{type(e).__name__}: {scrub(e, max_chars=300)}"
            permanent = isinstance(e, PermanentChannelError)
            log.warning(
                "Alert channel %s failed (attempt %d/%d): %s", name, attempt, policy.max_attempts, error
            )
            log.debug("Alert channel %s traceback:\n%s", name, scrubbed_traceback(e))
            if permanent or attempt >= policy.max_attempts or stop.is_set():
                break
            wait_for = policy.delay(attempt)
            if max(time.monotonic() - start, waited) + wait_for > policy.max_seconds:
                log.warning(
                    "Alert channel %s: giving up, next retry would pass %.0f s", name, policy.max_seconds
                )
                break
            sleep(wait_for)
            waited += wait_for
            continue
        seconds = time.monotonic() - start
        log.info(
            "Alert %s for %s/%s sent to %s (attempt %d)",
            alert.kind.value,
            alert.dag_id,
            alert.run_id,
            name,
            attempt,
        )
        return Outcome(Status.SENT, attempt, None, seconds)
    _release(ledger, key)
    log.warning(
        "Alert for %s/%s NOT delivered to %s after %d attempt(s)", alert.dag_id, alert.run_id, name, attempt
    )
    return Outcome(Status.FAILED, attempt, error, time.monotonic() - start)


def send_alert(
    alert: Alert,
    channels: Iterable[Channel | str],
    *,
    policy: RetryPolicy | None = None,
    ledger: AlertLedger | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Outcome]:
    """Send ``alert`` to every channel at once; return ``{channel name: Outcome}``. Never raises.

    Args:
        alert: what to say (see :func:`~purpose_lineage.notifications.message.build_alert`).
        channels: :class:`~purpose_lineage.notifications.channels.Channel` objects or
            ``"slack:<conn_id>"``/``"email:<conn_id>"``/``"webhook:<conn_id>"`` strings.
        policy: retries and timeouts per channel.
        ledger: duplicate suppression; ``None`` sends unconditionally.
        sleep: the backoff wait (tests pass a recorder).
    """
    policy = policy or RetryPolicy()
    ledger = ledger or NullLedger()
    parsed: dict[str, Channel] = {}
    outcomes: dict[str, Outcome] = {}
    for spec in channels:
        try:
            channel = parse_channel(spec)
            parsed[channel.name] = channel
        except Exception as e:
            outcomes[str(spec)] = Outcome(Status.FAILED, 0, scrub(e))
            log.warning("Alert channel %r skipped: %s", spec, scrub(e))
    if not parsed:
        if not outcomes:
            log.warning("Alert for %s/%s has no channel configured; nothing sent", alert.dag_id, alert.run_id)
        return outcomes
    for channel in parsed.values():
        try:
            prepare(channel)
        except Exception as e:  # the channel's send() fails the same way, and is reported then
            log.debug("Alert channel %s: preparing failed: %s", channel.name, scrub(e))
    stop = threading.Event()
    # per channel: all attempts, their timeouts and the waits between them, plus slack for the hooks
    deadline = policy.max_seconds + policy.timeout_seconds * 2 + policy.grace_seconds
    pool = ThreadPoolExecutor(max_workers=len(parsed), thread_name_prefix="purpose-alert")
    try:
        futures = {
            name: pool.submit(_deliver_one, alert, channel, policy, ledger, sleep, stop)
            for name, channel in parsed.items()
        }
        wait(futures.values(), timeout=deadline)
        stop.set()
        for name, future in futures.items():
            if future.done() and future.exception() is None:
                outcomes[name] = future.result()
            elif future.done():
                outcomes[name] = Outcome(Status.FAILED, 0, scrub(future.exception()))
            else:
                log.warning("Alert channel %s still busy after %.0f s; not waiting for it", name, deadline)
                outcomes[name] = Outcome(Status.TIMED_OUT, 0, f"no answer within {deadline:.0f} s")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return outcomes


__all__ = ["Outcome", "RetryPolicy", "Status", "send_alert"]
