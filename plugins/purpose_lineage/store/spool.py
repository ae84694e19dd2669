"""The local spool: write batches that wait for the store, one file each.

Layout of a spool folder (one per store URL)::

    tmp/       files being written
    pending/   complete batches, named <time_ns>-<pid>-<random>.json (replay order)
    failed/    batches the store rejected for good, with a .reason file (kept, never dropped)

A batch is written to ``tmp/``, fsynced and renamed into ``pending/``: a reader sees a
whole file or none. A drainer applies a file in one transaction and unlinks it after the
commit; a crash in between replays it, which the idempotency keys turn into a no-op.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from purpose_lineage.durable import write_durably

log = logging.getLogger(__name__)


class Spool:
    """Append-only folder of pending write batches."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.pending_dir = self.root / "pending"
        self.tmp_dir = self.root / "tmp"
        self.failed_dir = self.root / "failed"
        for d in (self.pending_dir, self.tmp_dir, self.failed_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.root / ".drain.lock"

    def put(self, data: bytes) -> Path:
        """Store one batch durably; returns its pending path."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:12]}.json"
        final = self.pending_dir / name
        write_durably(self.tmp_dir / name, final, data)
        return final

    def files(self) -> list[Path]:
        """Pending batches, oldest first."""
        try:
            return sorted(p for p in self.pending_dir.iterdir() if p.suffix == ".json")
        except FileNotFoundError:
            return []

    def count(self) -> int:
        return len(self.files())

    def failed(self) -> list[Path]:
        return sorted(p for p in self.failed_dir.iterdir() if p.suffix == ".json")

    def quarantine(self, path: Path, reason: str) -> None:
        """Move a batch the store can never accept aside, with the reason. It is kept, not dropped."""
        target = self.failed_dir / path.name
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, target)
            target.with_suffix(".reason").write_text(reason + "\n")
            log.warning("lineage store rejected spooled batch %s; moved to %s: %s", path.name, target, reason)


@contextlib.contextmanager
def file_lock(path: Path, timeout: float) -> Iterator[bool]:
    """Exclusive ``flock`` on ``path``; yields whether it was acquired within ``timeout`` seconds.

    ``flock`` locks belong to the open file, so threads of one process exclude each other too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(timeout, 0.0)
    delay = 0.002
    acquired = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                acquired = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        yield acquired
    finally:
        if acquired:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
