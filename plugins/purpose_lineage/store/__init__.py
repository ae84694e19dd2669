"""Lineage store: open a backend by URL scheme.

>>> sorted(BACKENDS)
['duckdb', 'postgres', 'postgresql', 'postgresql+psycopg2']
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_lineage.errors import StoreError

if TYPE_CHECKING:
    from purpose_lineage.store.base import LineageStore

# scheme -> "module:class"; imported on first use so that opening DuckDB never imports psycopg2
BACKENDS: dict[str, str] = {
    "duckdb": "purpose_lineage.store.duckdb_store:DuckDBStore",
    "postgresql": "purpose_lineage.store.postgres_store:PostgresStore",
    "postgres": "purpose_lineage.store.postgres_store:PostgresStore",
    "postgresql+psycopg2": "purpose_lineage.store.postgres_store:PostgresStore",
}


def register_backend(scheme: str, target: str) -> None:
    """Register a backend class (``"module:Class"``) for a URL scheme."""
    BACKENDS[scheme.lower()] = target


def open_store(url: str, *, spool_dir: Path | None = None) -> LineageStore:
    """Open the lineage store at ``url`` (``duckdb:///path.duckdb``, ``postgresql://user@host/db``).

    Args:
        url: store URL; the scheme picks the backend.
        spool_dir: folder for writes that cannot reach the store. Defaults to a folder
            next to the DuckDB file, or ``~/.cache/purpose_lineage/spool/<host-db>``.

    Raises:
        StoreError: unknown scheme or malformed URL. Opening never connects: an unreachable
            store is noticed by the first read (StoreError) or write (spooled).
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    target = BACKENDS.get(scheme)
    if target is None:
        raise StoreError(f"unknown lineage store scheme {scheme!r}; expected one of {sorted(BACKENDS)}")
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    return cls(url, spool_dir=spool_dir)


__all__ = ["BACKENDS", "open_store", "register_backend"]
