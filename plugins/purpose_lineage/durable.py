"""Durable local files for the spools (lineage-store writes, OpenLineage events).

A file is written under a temporary name, fsynced and renamed into place, then its folder
is fsynced: after a crash a reader sees the whole file or none of it, and a file that was
reported written is still there.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_durably(tmp: Path, final: Path, data: bytes) -> None:
    """Write ``data`` to ``final`` atomically and durably, through ``tmp`` (same file system)."""
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(final.parent)


def fsync_dir(path: Path) -> None:
    """Make the names in folder ``path`` (a rename, a new file) durable; best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
