"""The spooling OpenLineage transport with the real HTTP transport and real local backends."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from ol_backends import EventReceiver, HangingServer, event_identity, free_port
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from purpose_lineage.cli import main
from purpose_lineage.ol.spool_transport import EventSpool, SpoolingConfig, SpoolingTransport, event_key


def _event(state: RunState = RunState.START, run_id: str | None = None) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime="2026-03-01T00:00:00.000000+00:00",
        run=Run(runId=run_id or str(uuid.uuid4())),
        job=Job(namespace="test", name="dag.task"),
        producer="https://example.test/producer",
    )


def _transport(spool: Path, port: int, *, retry_after: float = 0, timeout: float = 1) -> SpoolingTransport:
    config = SpoolingConfig.from_dict(
        {
            "spool_dir": str(spool),
            "retry_after": retry_after,
            "transport": {
                "type": "http",
                "url": f"http://127.0.0.1:{port}",
                "timeout": timeout,
                "retry": {"total": 0},
            },
        }
    )
    return SpoolingTransport(config)


@pytest.fixture
def receiver(tmp_path: Path):
    r = EventReceiver(free_port(), tmp_path / "received.jsonl")
    yield r
    r.stop()


def test_backend_up_forwards_at_once_and_keeps_nothing_pending(tmp_path: Path, receiver):
    transport = _transport(tmp_path / "spool", receiver.port)
    event = _event()
    transport.emit(event)
    assert [event_identity(e) for e in receiver.events] == [event_identity(Serde.to_dict(event))]
    assert EventSpool(tmp_path / "spool").pending() == []


def test_backend_down_keeps_every_event_then_replay_sends_each_once(tmp_path: Path):
    port = free_port()  # nothing listens: connection refused
    transport = _transport(tmp_path / "spool", port)
    events = [_event(RunState.START), _event(RunState.COMPLETE)]
    for event in events:
        transport.emit(event)  # never raises: the event is safe in the spool
    spool = EventSpool(tmp_path / "spool")
    assert sorted(spool.pending()) == sorted(event_key(Serde.to_dict(e)) for e in events)
    receiver = EventReceiver(port, tmp_path / "received.jsonl")  # the backend returns
    try:
        backend = {"type": "http", "url": receiver.url, "timeout": 5}
        args = ["openlineage", "--spool-dir", str(spool.root), "--transport", json.dumps(backend)]
        assert main([*args, "replay"]) == 0
        assert main([*args, "replay"]) == 0  # nothing left: sends 0
        assert main([*args, "status"]) == 0
        assert sorted(receiver.counts().items()) == sorted(
            (event_identity(Serde.to_dict(e)), 1) for e in events
        )
        transport.emit(events[0])  # the same event again (same run, type and time): not resent
        assert spool.pending() == []
    finally:
        receiver.stop()


def test_hanging_backend_is_cut_at_the_timeout_then_skipped(tmp_path: Path):
    hanging = HangingServer(free_port(), tmp_path / "hung.txt")
    try:
        transport = _transport(tmp_path / "spool", hanging.port, retry_after=3600, timeout=0.5)
        transport.emit(_event())  # returns after the read timeout, with the event spooled
        transport.emit(_event())  # backend skipped for retry_after: spooled without a connection
        assert len(EventSpool(tmp_path / "spool").pending()) == 2
        assert hanging.accepted == 1
    finally:
        hanging.stop()


def test_replay_stops_at_a_dead_backend_and_keeps_the_rest(tmp_path: Path, capsys):
    spool = EventSpool(tmp_path / "spool")
    spool.put(Serde.to_dict(_event()))
    backend = {"type": "http", "url": f"http://127.0.0.1:{free_port()}", "retry": {"total": 0}}
    args = ["openlineage", "--spool-dir", str(spool.root), "--transport", json.dumps(backend)]
    assert main([*args, "--format", "json", "replay"]) == 1
    assert json.loads(capsys.readouterr().out) == {"sent": 0, "pending": 1}
    assert main([*args, "status"]) == 1


def test_an_event_claimed_by_a_dead_sender_returns_to_pending(tmp_path: Path):
    spool = EventSpool(tmp_path / "spool")
    key = spool.put(Serde.to_dict(_event()))
    assert key is not None
    dead = subprocess.run(
        [sys.executable, "-c", "print(__import__('os').getpid())"], capture_output=True, text=True
    )
    claimed = spool.claim(key)
    assert claimed is not None and spool.pending() == []  # a live sender (this process) holds it
    claimed.rename(spool.sending_dir / f"{key}.{int(dead.stdout)}.json")  # ...now a killed one
    assert spool.pending() == [key]


def test_config_needs_a_spool_dir():
    with pytest.raises(ValueError, match="spool_dir"):
        SpoolingConfig.from_dict({"transport": {"type": "console"}})


def test_replay_reads_spooling_transports_inside_a_composite_config(tmp_path: Path, monkeypatch, capsys):
    receivers = [EventReceiver(free_port(), tmp_path / f"r{i}.jsonl") for i in range(2)]
    try:
        children = {
            f"backend{i}": {
                "type": "purpose_lineage.ol.spool_transport.SpoolingTransport",
                "spool_dir": str(tmp_path / f"spool{i}"),
                "transport": {"type": "http", "url": r.url},
            }
            for i, r in enumerate(receivers)
        }
        for child in children.values():
            EventSpool(child["spool_dir"]).put(Serde.to_dict(_event()))
        config = {"type": "composite", "transports": children}
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(config))
        assert main(["openlineage", "--format", "json", "replay"]) == 0
        assert json.loads(capsys.readouterr().out)["sent"] == 2
        assert [len(r.events) for r in receivers] == [1, 1]
    finally:
        for r in receivers:
            r.stop()
