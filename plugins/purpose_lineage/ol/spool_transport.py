"""Spool-and-forward OpenLineage transport: every event is on local disk before any network call.

A slow or dead lineage backend must neither slow tasks down without bound nor lose events.
This transport writes each event to a local spool folder first (fsynced, atomic rename),
then forwards it once to the backend transport it wraps (usually ``http`` with a short
``timeout`` and few retries). An event the backend did not take stays in the spool;
``purpose-lineage openlineage replay`` forwards it later, exactly once.

Configure it as the provider's transport by its dotted path (works in every process, no
registration needed)::

    [openlineage]
    transport = {"type": "purpose_lineage.ol.spool_transport.SpoolingTransport",
                 "spool_dir": "/var/lib/airflow/ol_spool", "retry_after": 60,
                 "transport": {"type": "http", "url": "http://marquez:5000", "timeout": 2,
                               "retry": {"total": 1, "connect": 1, "read": 0}}}

Spool layout::

    tmp/       files being written
    pending/   events waiting for the backend, ``<key>.json``
    sending/   events claimed by one sender, ``<key>.<pid>.json`` (a dead pid's file returns to pending/)
    sent/      one empty marker per delivered key: a key is forwarded at most once per spool

The key is a hash of the run id, event type and event time (the whole event when it has no
run), so putting or replaying the same event twice forwards it once. Claims are atomic
renames, so a replay and a live emitter never both send one event. A sender killed between
the backend's answer and the marker resends that one event on the next replay (at least
once across a crash, exactly once otherwise).

After a failed forward the backend is skipped for ``retry_after`` seconds (events are only
spooled), so a dead backend costs one ``timeout`` per window, not one per event.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attr
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

from purpose_lineage.durable import fsync_dir, write_durably

if TYPE_CHECKING:
    from openlineage.client.client import Event

log = logging.getLogger(__name__)

UNREACHABLE_MARK = ".backend_unreachable"
SENT_RETENTION_S = 14 * 24 * 3600


@attr.define
class SpoolingConfig(Config):
    """``spool_dir``: local folder; ``transport``: the backend transport's config (e.g. http);
    ``retry_after``: seconds to skip the backend after a failed forward (0: always try)."""

    spool_dir: str
    transport: dict[str, Any] = attr.field(factory=dict)
    retry_after: float = 60.0

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> SpoolingConfig:
        if not params.get("spool_dir"):
            raise ValueError("the spooling transport needs `spool_dir`")
        return cls(
            spool_dir=str(params["spool_dir"]),
            transport=dict(params.get("transport") or {}),
            retry_after=float(params.get("retry_after", 60.0)),
        )


def event_key(event: dict[str, Any]) -> str:
    """Idempotency key of an event: run id, event type and event time (or the whole event)."""
    run_id = (event.get("run") or {}).get("runId")
    if run_id:
        text = f"{run_id}\n{event.get('eventType')}\n{event.get('eventTime')}"
    else:
        text = json.dumps(event, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class EventSpool:
    """The spool folder: put, claim, release, mark sent (see the module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.tmp_dir, self.pending_dir = self.root / "tmp", self.root / "pending"
        self.sending_dir, self.sent_dir = self.root / "sending", self.root / "sent"
        for d in (self.tmp_dir, self.pending_dir, self.sending_dir, self.sent_dir):
            d.mkdir(parents=True, exist_ok=True)

    def put(self, event: dict[str, Any]) -> str | None:
        """Store one event durably; returns its key, or None if that key was already delivered."""
        key = event_key(event)
        if (self.sent_dir / key).exists():
            return None
        tmp = self.tmp_dir / f"{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        # same key again: same event, one file
        write_durably(tmp, self.pending_dir / f"{key}.json", json.dumps(event, sort_keys=True).encode())
        return key

    def pending(self) -> list[str]:
        """Keys waiting for the backend (claimed by a dead sender included), oldest first."""
        self.recover()
        files = [p for p in self.pending_dir.glob("*.json")]
        with_time = []
        for p in files:
            with contextlib.suppress(FileNotFoundError):
                with_time.append((p.stat().st_mtime_ns, p.stem))
        return [k for _, k in sorted(with_time)]

    def read(self, key: str) -> dict[str, Any]:
        return json.loads((self.pending_dir / f"{key}.json").read_text(encoding="utf-8"))

    def claim(self, key: str) -> Path | None:
        """Take ``key`` for sending (atomic); None if another sender has it or it is gone."""
        claimed = self.sending_dir / f"{key}.{os.getpid()}.json"
        try:
            os.replace(self.pending_dir / f"{key}.json", claimed)
        except FileNotFoundError:
            return None
        return claimed

    def release(self, claimed: Path) -> None:
        """The backend did not take it: back to pending/."""
        key = claimed.name.split(".")[0]
        with contextlib.suppress(FileNotFoundError):
            os.replace(claimed, self.pending_dir / f"{key}.json")

    def done(self, claimed: Path) -> None:
        """The backend took it: mark the key sent, then drop the file."""
        key = claimed.name.split(".")[0]
        (self.sent_dir / key).touch()
        fsync_dir(self.sent_dir)
        claimed.unlink(missing_ok=True)

    def recover(self) -> int:
        """Return events claimed by senders that died (killed worker, abandoned fork) to pending/."""
        moved = 0
        for p in self.sending_dir.glob("*.json"):
            key, pid = p.name.split(".")[:2]
            if _alive(int(pid)):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.replace(p, self.pending_dir / f"{key}.json")
                moved += 1
        return moved

    def prune_sent(self, older_than_s: float = SENT_RETENTION_S) -> None:
        cutoff = time.time() - older_than_s
        for p in self.sent_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if p.stat().st_mtime < cutoff:
                    p.unlink()

    # -- backend health: skip it for a while after a failure -----------------------------

    def backend_skipped(self, retry_after: float) -> bool:
        try:
            return time.time() - (self.root / UNREACHABLE_MARK).stat().st_mtime < retry_after
        except FileNotFoundError:
            return False

    def mark_backend(self, reachable: bool) -> None:
        mark = self.root / UNREACHABLE_MARK
        if reachable:
            mark.unlink(missing_ok=True)
        else:
            mark.touch()


def forward(spool: EventSpool, key: str, backend: Transport) -> bool:
    """Send one pending event through ``backend``; True if the backend took it (or it was taken)."""
    claimed = spool.claim(key)
    if claimed is None:
        return True  # another sender has it
    try:
        backend.emit(json.loads(claimed.read_text(encoding="utf-8")))
    except Exception:
        spool.release(claimed)
        raise
    spool.done(claimed)
    return True


def replay(spool: EventSpool, backend: Transport) -> dict[str, int]:
    """Forward every pending event, oldest first; stop at the first failure (the backend is down).

    Returns ``{"sent": n, "pending": m}``. A second replay right after sends 0.
    """
    sent = 0
    error: Exception | None = None
    for key in spool.pending():
        try:
            forward(spool, key, backend)
        except Exception as exc:  # the backend is still down or rejects: keep the rest spooled
            error = exc
            break
        sent += 1
    spool.mark_backend(error is None)
    if error is not None:
        log.warning("OpenLineage backend did not take a spooled event: %s", error)
    spool.prune_sent()
    return {"sent": sent, "pending": len(spool.pending())}


def backend_transport(config: dict[str, Any]) -> Transport:
    from openlineage.client.transport import get_default_factory

    return get_default_factory().create(dict(config))


class SpoolingTransport(Transport):
    """Spool first, then forward once within the backend transport's own timeout."""

    kind = "purpose_lineage_spool"
    config_class = SpoolingConfig

    def __init__(self, config: SpoolingConfig) -> None:
        self.config = config
        self.spool = EventSpool(config.spool_dir)
        self.backend = backend_transport(config.transport) if config.transport else None

    def emit(self, event: Event) -> None:
        data = Serde.to_dict(event)
        key = self.spool.put(data)  # an OSError here propagates: the provider logs it, the task goes on
        if key is None or self.backend is None:
            return
        if self.spool.backend_skipped(self.config.retry_after):
            log.debug("OpenLineage backend unreachable recently; event %s stays spooled", key)
            return
        try:
            forward(self.spool, key, self.backend)
        except Exception as exc:  # kept in the spool: lineage never fails a task
            self.spool.mark_backend(False)
            log.warning(
                "OpenLineage backend did not take event %s (%s); it stays in %s for "
                "`purpose-lineage openlineage replay`",
                key,
                type(exc).__name__,
                self.spool.pending_dir,
            )
            log.debug("OpenLineage forward failure", exc_info=True)
            return
        self.spool.mark_backend(True)

    def close(self, timeout: float = -1) -> bool:
        return self.backend.close(timeout) if self.backend is not None else True


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
