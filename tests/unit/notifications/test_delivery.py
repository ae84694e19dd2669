"""send_alert: concurrency, bounded retries with backoff, logging, duplicate suppression, never raising."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import pytest

from purpose_lineage.notifications.channels import PermanentChannelError
from purpose_lineage.notifications.delivery import RetryPolicy, Status, send_alert
from purpose_lineage.notifications.ledger import SqliteLedger
from purpose_lineage.notifications.message import build_alert
from tests.helpers.alert_data import PHONES, incident_violations, leaks

FAST = RetryPolicy(max_attempts=4, backoff_seconds=0.5, max_seconds=30, timeout_seconds=1, grace_seconds=0.5)


@dataclass
class ScriptedChannel:
    """A channel failing its first ``failures`` sends (with ``error``), then succeeding."""

    label: str
    failures: int = 0
    error: Exception = field(default_factory=lambda: ConnectionError("refused"))
    delay: float = 0.0
    sent: list = field(default_factory=list)
    calls: int = 0

    @property
    def name(self) -> str:
        return f"test:{self.label}"

    def send(self, alert, *, timeout):
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.calls <= self.failures:
            raise self.error
        self.sent.append(alert)


@pytest.fixture
def alert():
    return build_alert(dag_id="acme", run_id="run1", task_id="guard", violations=incident_violations())


def test_retries_with_exponential_backoff_then_sends(alert):
    waits: list[float] = []
    channel = ScriptedChannel("a", failures=2)
    out = send_alert(alert, [channel], policy=FAST, sleep=waits.append)
    assert out["test:a"].status is Status.SENT and out["test:a"].attempts == 3
    assert waits == [0.5, 1.0]
    assert channel.sent == [alert]


def test_attempts_are_bounded_and_failure_is_logged_scrubbed(alert, caplog):
    waits: list[float] = []
    channel = ScriptedChannel("a", failures=99, error=OSError(f"550 no such user {PHONES[0]}"))
    with caplog.at_level(logging.DEBUG, logger="purpose_lineage.notifications"):
        out = send_alert(alert, [channel], policy=FAST, sleep=waits.append)
    assert out["test:a"].status is Status.FAILED and out["test:a"].attempts == 4 == channel.calls
    assert waits == [0.5, 1.0, 2.0]
    assert out["test:a"].error == "OSError: 550 no such user [redacted phone]"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("failed (attempt" in r.getMessage() for r in warnings) == 4
    assert any("NOT delivered to test:a after 4 attempt(s)" in r.getMessage() for r in warnings)
    assert any(r.levelno == logging.DEBUG and "Traceback" in r.getMessage() for r in caplog.records)
    assert leaks(caplog.text) == []


def test_total_retry_time_is_bounded(alert):
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=10, backoff_seconds=4, max_seconds=10, timeout_seconds=1)
    out = send_alert(alert, [ScriptedChannel("a", failures=99)], policy=policy, sleep=waits.append)
    assert waits == [4.0]  # a second wait of 8 s would pass 10 s
    assert out["test:a"].attempts == 2


def test_permanent_errors_are_not_retried(alert):
    channel = ScriptedChannel("a", failures=99, error=PermanentChannelError("connection 'x' is not defined"))
    out = send_alert(alert, [channel], policy=FAST, sleep=lambda s: None)
    assert out["test:a"].status is Status.FAILED and channel.calls == 1


def test_a_failing_channel_neither_blocks_nor_stops_the_others(alert):
    fast_sent = threading.Event()

    class WaitsForFast:  # listed before Fast: run one after another, it would wait in vain
        name = "test:waits"

        def send(self, alert, *, timeout):
            if not fast_sent.wait(10):
                raise TimeoutError("channels ran one after another")

    class Fast:
        name = "test:fast"

        def send(self, alert, *, timeout):
            fast_sent.set()

    broken = ScriptedChannel("broken", failures=99)
    out = send_alert(alert, [broken, WaitsForFast(), Fast()], policy=FAST, sleep=lambda s: None)
    assert out["test:waits"].status is Status.SENT and out["test:fast"].status is Status.SENT
    assert out["test:broken"].status is Status.FAILED and out["test:broken"].attempts == 4


def test_a_hanging_channel_times_out_without_holding_the_caller(alert):
    release = threading.Event()

    class Hanging:
        name = "test:hang"

        def send(self, alert, *, timeout):
            release.wait(30)

    policy = RetryPolicy(max_attempts=1, max_seconds=0, timeout_seconds=0.2, grace_seconds=0.3)
    start = time.monotonic()
    out = send_alert(alert, [Hanging(), ScriptedChannel("ok")], policy=policy)
    release.set()
    assert time.monotonic() - start < 10  # not the 30 s the channel would hang
    assert out["test:hang"].status is Status.TIMED_OUT
    assert out["test:ok"].status is Status.SENT


def test_duplicates_are_suppressed_per_channel_and_failures_released(alert, tmp_path):
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    good, bad = ScriptedChannel("good"), ScriptedChannel("bad", failures=2)
    policy = RetryPolicy(max_attempts=2, backoff_seconds=0, grace_seconds=0.5)
    first = send_alert(alert, [good, bad], policy=policy, ledger=ledger)
    assert (first["test:good"].status, first["test:bad"].status) == (Status.SENT, Status.FAILED)
    retry = build_alert(
        dag_id="acme", run_id="run1", task_id="guard", violations=incident_violations()[::-1], try_number=2
    )
    second = send_alert(retry, [good, bad], policy=policy, ledger=ledger)
    assert second["test:good"].status is Status.SUPPRESSED  # already delivered
    assert second["test:bad"].status is Status.SENT  # its failed claim was released: this try delivers
    assert len(good.sent) == 1 and len(bad.sent) == 1
    other_run = build_alert(dag_id="acme", run_id="run2", violations=incident_violations())
    assert send_alert(other_run, [good], ledger=ledger)["test:good"].status is Status.SENT


def test_a_broken_ledger_means_send_anyway(alert, caplog):
    class Broken:
        def claim(self, key):
            raise OSError("disk full")

        def release(self, key):
            raise OSError("disk full")

    channel = ScriptedChannel("a")
    out = send_alert(alert, [channel], policy=FAST, ledger=Broken())
    assert out["test:a"].status is Status.SENT
    assert "without duplicate suppression" in caplog.text


def test_bad_channel_specs_and_no_channels_never_raise(alert, caplog):
    out = send_alert(alert, ["pager:x", "slack:", ScriptedChannel("ok")], policy=FAST)
    assert out["pager:x"].status is Status.FAILED and out["slack:"].status is Status.FAILED
    assert out["test:ok"].status is Status.SENT
    assert send_alert(alert, []) == {}
    assert "no channel configured" in caplog.text


def test_policy_validation():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(timeout_seconds=-1)
