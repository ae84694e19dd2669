"""Alert claims in the lineage store (schema v3), on DuckDB and PostgreSQL.

PostgreSQL tests use the database ``pl_alerts`` (override with PURPOSE_LINEAGE_TEST_ALERTS_PG_URL).
"""

from __future__ import annotations

import multiprocessing
import os
from datetime import timedelta

import pytest

from purpose_lineage.errors import StoreError
from purpose_lineage.notifications.delivery import RetryPolicy, Status, send_alert
from purpose_lineage.notifications.ledger import AlertKey, SqliteLedger, StoreLedger, open_ledger
from purpose_lineage.notifications.message import build_alert
from purpose_lineage.store import open_store
from purpose_lineage.store.base import utcnow
from purpose_lineage.store.batch import naive_utc
from tests.helpers.alert_data import incident_violations
from tests.helpers.alert_receivers import free_port

PG_URL = os.environ.get(
    "PURPOSE_LINEAGE_TEST_ALERTS_PG_URL", "postgresql://postgres@127.0.0.1:5432/pl_alerts"
)
KEY = AlertKey("acme_audience", "manual__1", "ad_audience_acme", "f7e806b5e6d21a64", "slack:alerts")


def _pg_reachable() -> bool:
    """True if the server answers; creates the test database when only it is missing."""
    import psycopg2

    try:
        psycopg2.connect(PG_URL, connect_timeout=2).close()
        return True
    except psycopg2.Error:
        pass
    server, _, name = PG_URL.rpartition("/")
    try:
        conn = psycopg2.connect(f"{server}/postgres", connect_timeout=2)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        psycopg2.connect(PG_URL, connect_timeout=2).close()
        return True
    except psycopg2.Error:
        return False


def _pg_execute(sql: str, params=()) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_URL, connect_timeout=3)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql, params or None)
    conn.close()


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'lineage.duckdb'}"
    if not _pg_reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    _pg_execute(
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT tablename FROM pg_tables "
        "WHERE schemaname = 'public' AND tablename LIKE 'pl\\_%' LOOP "
        "EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(r.tablename) || ' CASCADE'; END LOOP; END $$"
    )
    _pg_execute("DROP SEQUENCE IF EXISTS pl_dataset_seq, pl_column_seq CASCADE")
    return PG_URL


@pytest.fixture
def store(store_url, tmp_path):
    with open_store(store_url, spool_dir=tmp_path / "spool") as s:
        yield s


def test_claim_once_per_key_and_release(store):
    assert store.supports_alert_claims
    assert store.claim_alert(KEY) is True
    assert store.claim_alert(KEY) is False
    assert store.claim_alert(AlertKey(*[*vars(KEY).values()][:4], "email:smtp")) is True
    store.release_alert(KEY)
    assert store.claim_alert(KEY) is True


def test_claims_are_shared_between_store_objects(store_url, tmp_path):
    a, b = (open_store(store_url, spool_dir=tmp_path / name) for name in "ab")
    with a, b:
        assert a.claim_alert(KEY) is True
        assert b.claim_alert(KEY) is False


def test_old_claims_expire(store, store_url):
    store.claim_alert(KEY)
    old = naive_utc(utcnow() - timedelta(days=31))
    store._run(lambda c: c.x("UPDATE pl_alert_claims SET claimed_at = ?", [old]), wait=5)
    assert store.claim_alert(KEY) is True


def test_bad_keys_are_refused(store):
    with pytest.raises(StoreError, match="run_id"):
        store.claim_alert(AlertKey("d", "", "s", "f", "c"))
    with pytest.raises(StoreError, match="channel"):
        store.claim_alert(object())


def _claim_in_process(url: str, spool: str, queue) -> None:
    with open_store(url, spool_dir=spool) as s:
        queue.put(s.claim_alert(KEY))


def test_concurrent_processes_claim_exactly_once(store, store_url, tmp_path):
    store.schema_version()  # migrate once, so the race is on the claim
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    args = [(store_url, str(tmp_path / f"s{i}"), queue) for i in range(4)]
    procs = [ctx.Process(target=_claim_in_process, args=a) for a in args]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert sorted(results) == [False, False, False, True]


class _Channel:
    name = "test:one"

    def __init__(self):
        self.sent = 0

    def send(self, alert, *, timeout):
        self.sent += 1


def test_auto_ledger_uses_the_store_and_suppresses_retries(store, tmp_path):
    ledger = open_ledger("auto", spool_dir=tmp_path, store=store)
    assert isinstance(ledger, StoreLedger)
    channel = _Channel()
    first = dict(dag_id="acme", run_id="r1", task_id="guard", violations=incident_violations())
    alert, retry = build_alert(**first), build_alert(**first, try_number=2)
    assert send_alert(alert, [channel], ledger=ledger)["test:one"].status is Status.SENT
    assert send_alert(retry, [channel], ledger=ledger)["test:one"].status is Status.SUPPRESSED
    assert channel.sent == 1


def test_unreachable_store_means_send_anyway(tmp_path, caplog):
    down = open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", spool_dir=tmp_path)
    down.read_wait = 0.5
    with pytest.raises(StoreError):
        down.claim_alert(KEY)
    ledger = open_ledger("auto", spool_dir=tmp_path, store=down)
    channel = _Channel()
    alert = build_alert(dag_id="acme", run_id="r1", violations=incident_violations())
    out = send_alert(alert, [channel], ledger=ledger, policy=RetryPolicy(max_attempts=1))
    assert out["test:one"].status is Status.SENT and channel.sent == 1
    assert "without duplicate suppression" in caplog.text


def test_store_without_claims_falls_back_to_sqlite(tmp_path):
    class NoClaims:
        supports_alert_claims = False

        def claim_alert(self, key):
            raise NotImplementedError

    assert isinstance(open_ledger("auto", spool_dir=tmp_path, store=NoClaims()), SqliteLedger)
