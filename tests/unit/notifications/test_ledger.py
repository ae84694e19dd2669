"""Duplicate-suppression ledgers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest

from purpose_lineage.notifications.ledger import (
    AlertKey,
    NullLedger,
    SqliteLedger,
    StoreLedger,
    open_ledger,
)

KEY = AlertKey("acme_audience", "manual__1", "ad_audience_acme", "f7e806b5e6d21a64", "slack:alerts")


def test_sqlite_claims_once_per_key_and_channel(tmp_path):
    ledger = SqliteLedger(tmp_path / "sub" / "ledger.sqlite3")
    assert ledger.claim(KEY) is True
    assert ledger.claim(KEY) is False
    assert SqliteLedger(tmp_path / "sub" / "ledger.sqlite3").claim(KEY) is False  # persisted
    assert ledger.claim(AlertKey(*[*vars(KEY).values()][:4], "email:smtp")) is True
    assert (
        ledger.claim(AlertKey("acme_audience", "manual__2", KEY.sink, KEY.fingerprint, KEY.channel)) is True
    )


def test_release_lets_a_later_try_send(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    ledger.claim(KEY)
    ledger.release(KEY)
    assert ledger.claim(KEY) is True


def test_old_claims_expire(tmp_path):
    path = tmp_path / "l.sqlite3"
    ledger = SqliteLedger(path, retention_days=1)
    ledger.claim(KEY)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alert_ledger SET claimed_at = ?", (time.time() - 2 * 86400,))
    assert ledger.claim(KEY) is True


def _claim_in_process(path: str, queue) -> None:
    queue.put(SqliteLedger(path).claim(KEY))


def test_concurrent_processes_claim_exactly_once(tmp_path):
    path = str(tmp_path / "l.sqlite3")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(path, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    assert sorted(results) == [False, False, False, True]


class _ClaimingStore:
    supports_alert_claims = True

    def __init__(self):
        self.claims: set[AlertKey] = set()

    def claim_alert(self, key: AlertKey) -> bool:
        if key in self.claims:
            return False
        self.claims.add(key)
        return True

    def release_alert(self, key: AlertKey) -> None:
        self.claims.discard(key)


def test_open_ledger_picks_the_store_when_it_offers_claims(tmp_path):
    store = _ClaimingStore()
    ledger = open_ledger("auto", spool_dir=tmp_path, store=store)
    assert isinstance(ledger, StoreLedger)
    assert ledger.claim(KEY) and not ledger.claim(KEY)
    ledger.release(KEY)
    assert store.claims == set()
    assert isinstance(open_ledger("auto", spool_dir=tmp_path, store=object()), SqliteLedger)
    assert open_ledger("auto", spool_dir=tmp_path).path == tmp_path / "alert_ledger.sqlite3"
    assert open_ledger(f"sqlite:///{tmp_path}/x.db", spool_dir=tmp_path).path == tmp_path / "x.db"
    assert isinstance(open_ledger("none", spool_dir=tmp_path), NullLedger)
    with pytest.raises(ValueError, match="unknown alert ledger"):
        open_ledger("redis", spool_dir=tmp_path)
