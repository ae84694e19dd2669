"""Duplicate suppression: a ledger of alerts already sent, per run, violation and channel.

A key is ``(dag_id, run_id, sink, fingerprint, channel)``: the fingerprint hashes the rule
and path metadata (or, for a task failure, the task and error), never data. Before a
channel sends, it *claims* the key; a key already claimed means "already sent", so a task
retry, a cleared and re-run task, a DAG-level callback after a task-level one, or the guard
sending by itself do not alert twice. A channel that fails for good *releases* its key, so
a later try may deliver it.

Backends:

* :class:`StoreLedger`: the lineage store's ``claim_alert(key) -> bool`` and
  ``release_alert(key)`` (table ``pl_alert_claims``, schema v3), shared by every worker and
  machine: the default (``auto``) whenever the store supports claims;
* :class:`SqliteLedger`: a SQLite file (stdlib, cross-process safe) in the spool folder, for
  a store without claims or when asked for. It is per machine: a retry that runs on another
  worker is not suppressed.

A ledger that fails is logged and treated as "not claimed": a duplicate alert is better
than a lost one.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30
LEDGER_FILE = "alert_ledger.sqlite3"


@dataclass(frozen=True)
class AlertKey:
    """What was alerted where: one row of the ledger."""

    dag_id: str
    run_id: str
    sink: str
    fingerprint: str
    channel: str


class AlertLedger(Protocol):
    def claim(self, key: AlertKey) -> bool:
        """Record ``key``; True if it was new (send), False if it was already there (suppress)."""

    def release(self, key: AlertKey) -> None:
        """Forget ``key`` (its channel failed), so that a later try may send it."""


class SqliteLedger:
    """A ledger in one SQLite file. Claims are atomic across processes (``INSERT OR IGNORE``).

    >>> import tempfile, pathlib
    >>> ledger = SqliteLedger(pathlib.Path(tempfile.mkdtemp()) / "l.sqlite3")
    >>> key = AlertKey("dag", "run", "ads", "f7e806b5e6d21a64", "slack:alerts")
    >>> ledger.claim(key), ledger.claim(key)
    (True, False)
    >>> ledger.release(key); ledger.claim(key)
    True
    """

    def __init__(self, path: Path | str, *, retention_days: float = DEFAULT_RETENTION_DAYS):
        self.path = Path(path)
        self.retention_seconds = retention_days * 86400
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        if not self._ready:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS alert_ledger (dag_id TEXT NOT NULL, run_id TEXT NOT NULL, "
                "sink TEXT NOT NULL, fingerprint TEXT NOT NULL, channel TEXT NOT NULL, "
                "claimed_at REAL NOT NULL, PRIMARY KEY (dag_id, run_id, sink, fingerprint, channel))"
            )
            self._ready = True
        return conn

    def claim(self, key: AlertKey) -> bool:
        now = time.time()
        conn = self._connect()
        try:
            conn.execute("DELETE FROM alert_ledger WHERE claimed_at < ?", (now - self.retention_seconds,))
            cur = conn.execute(
                "INSERT OR IGNORE INTO alert_ledger VALUES (?, ?, ?, ?, ?, ?)", (*astuple(key), now)
            )
            return cur.rowcount == 1
        finally:
            conn.close()

    def release(self, key: AlertKey) -> None:
        conn = self._connect()
        try:
            conn.execute(
                "DELETE FROM alert_ledger "
                "WHERE dag_id=? AND run_id=? AND sink=? AND fingerprint=? AND channel=?",
                astuple(key),
            )
        finally:
            conn.close()


class StoreLedger:
    """The lineage store's alert claims (``claim_alert``/``release_alert``), shared by every worker."""

    def __init__(self, store: Any):
        self.store = store

    def claim(self, key: AlertKey) -> bool:
        return bool(self.store.claim_alert(key))

    def release(self, key: AlertKey) -> None:
        release = getattr(self.store, "release_alert", None)
        if release is not None:
            release(key)


class NullLedger:
    """No suppression: every claim succeeds."""

    def claim(self, key: AlertKey) -> bool:
        return True

    def release(self, key: AlertKey) -> None:
        return None


def store_supports_claims(store: Any) -> bool:
    """True for a lineage store that records alert claims (``LineageStore.supports_alert_claims``)."""
    return bool(getattr(store, "supports_alert_claims", False)) and callable(
        getattr(store, "claim_alert", None)
    )


def open_ledger(spec: str, *, spool_dir: Path, store: Any = None) -> AlertLedger:
    """Pick a ledger: ``"auto"`` (store if it offers claims, else SQLite), ``"store"``, ``"sqlite"``,
    ``"sqlite:///path"``, or ``"none"``.

    >>> open_ledger("none", spool_dir=Path("/tmp")).__class__.__name__
    'NullLedger'
    """
    spec = (spec or "auto").strip()
    if spec == "none":
        return NullLedger()
    if spec in ("auto", "store") and store is not None and store_supports_claims(store):
        return StoreLedger(store)
    if spec == "store":
        log.warning(
            "Alert ledger 'store' asked for, but the lineage store offers no claim_alert(); using SQLite"
        )
    if spec.startswith("sqlite:///"):
        return SqliteLedger(spec.removeprefix("sqlite:///"))
    if spec not in ("auto", "store", "sqlite"):
        raise ValueError(
            f"unknown alert ledger {spec!r}; expected auto, store, sqlite, sqlite:///path or none"
        )
    return SqliteLedger(Path(spool_dir) / LEDGER_FILE)


__all__ = ["AlertKey", "AlertLedger", "NullLedger", "SqliteLedger", "StoreLedger", "open_ledger"]
