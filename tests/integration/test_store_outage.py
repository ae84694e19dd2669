"""The store goes away in the middle of a run: writes wait in the spool, reads fail closed,
and after recovery every event is there exactly once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from store_support import PG_URL, TcpProxy, count, pg_reachable, reset_postgres

from helpers.duckdb_holder import held_by_another_process
from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag
from purpose_lineage.errors import StoreError
from purpose_lineage.store import open_store
from purpose_lineage.store.base import RunInfo
from purpose_lineage.store.batch import Batch

T0 = datetime(2026, 5, 1, tzinfo=UTC)
PHONE = Tag(ColumnRef("auth.users_2fa", "phone"), "user.contact.phone_number", "essential.service.security")


def events(n: int = 6) -> list[tuple[RunInfo, list[Edge]]]:
    """Task i of one DAG run: a distinct run event with its own edges, plus one edge every task repeats."""
    out = []
    for i in range(n):
        edges = [
            Edge(ColumnRef(f"stage.t{i}", f"c{j}"), ColumnRef(f"stage.t{i + 1}", f"c{j}"), Subtype.IDENTITY)
            for j in range(5)
        ]
        edges.append(
            Edge(ColumnRef("auth.users_2fa", "phone"), ColumnRef(f"stage.t{i + 1}", None), Subtype.JOIN)
        )
        out.append(
            (RunInfo(f"run-{i}", "COMPLETE", T0 + timedelta(seconds=i), dag_id="d", task_id=f"t{i}"), edges)
        )
    return out


def all_edges(evs) -> list[Edge]:
    return sorted({e for _, es in evs for e in es})


def assert_everything_once(url: str, store, evs) -> None:
    assert store.edges() == all_edges(evs)
    assert store.pending() == 0
    assert count(url, "SELECT count(*) FROM pl_edges") == len(all_edges(evs))
    assert count(url, "SELECT count(*) FROM pl_run_events") == len(evs)
    assert count(url, "SELECT count(*) FROM pl_edge_runs") == sum(len(es) for _, es in evs)
    assert count(url, "SELECT count(*) FROM pl_tags") == 1
    assert store.spool.failed() == []


def test_duckdb_file_locked_by_another_process(tmp_path: Path):
    url = f"duckdb:///{tmp_path / 'lineage.duckdb'}"
    store = open_store(url, spool_dir=tmp_path / "spool")
    store.read_wait = 0.5
    evs = events()
    for run, edges in evs[:3]:
        assert store.record_lineage(run, edges, [PHONE]) is True

    with held_by_another_process(store.path):  # a DuckDB shell or notebook holding the file
        for run, edges in evs[3:]:
            assert store.record_lineage(run, edges, [PHONE]) is False  # spooled, no exception
        assert store.record_lineage(*evs[1], [PHONE]) is False  # a task retry while the store is away
        assert store.pending() == 4
        with pytest.raises(StoreError, match="unreachable"):
            store.edges()  # the guard fails closed on this
        with pytest.raises(StoreError):
            store.paths_into("stage.t6")

    # another process of the same deployment (same spool) reads: the spool is replayed first
    other = open_store(url, spool_dir=tmp_path / "spool")
    # phone -> rows of t6, and phone -> rows of t1..t5 then along each of the 5 columns: 1 + 5 * 5 paths
    assert len(other.paths_into("stage.t6")) == 26
    assert_everything_once(url, other, evs)


@pytest.fixture
def pg_proxy():
    if not pg_reachable():
        pytest.skip("PostgreSQL not reachable")
    reset_postgres()
    proxy = TcpProxy()
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.mark.postgres
def test_postgres_stopped_mid_run(pg_proxy: TcpProxy, tmp_path: Path):
    url = pg_proxy.url()
    store = open_store(url, spool_dir=tmp_path / "spool")
    evs = events()
    for run, edges in evs[:3]:
        assert store.record_lineage(run, edges, [PHONE]) is True

    pg_proxy.stop()  # the server goes away, with the store's open connection
    for run, edges in evs[3:]:
        assert store.record_lineage(run, edges, [PHONE]) is False
    assert store.record_lineage(*evs[2], [PHONE]) is False
    assert store.pending() == 4
    with pytest.raises(StoreError, match="unreachable"):
        store.upstream("stage.t6")
    assert count(PG_URL, "SELECT count(*) FROM pl_run_events") == 3

    pg_proxy.start()  # it returns
    assert store.drain() == 4
    assert_everything_once(PG_URL, store, evs)
    assert store.drain() == 0


@pytest.mark.postgres
def test_postgres_table_locked_past_lock_timeout(tmp_path: Path):
    if not pg_reachable():
        pytest.skip("PostgreSQL not reachable")
    reset_postgres()
    store = open_store(PG_URL, spool_dir=tmp_path / "spool")
    store.lock_timeout_ms = 300
    evs = events(2)
    assert store.record_lineage(*evs[0], [PHONE]) is True
    store.close()  # the next connection uses the short lock timeout

    locker = psycopg2.connect(PG_URL)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE pl_edges IN ACCESS EXCLUSIVE MODE")
        assert store.record_lineage(*evs[1], [PHONE]) is False  # blocked: spooled instead of hanging the task
        with pytest.raises(StoreError):
            store.edges()
    finally:
        locker.rollback()
        locker.close()
    assert_everything_once(PG_URL, store, evs)


@pytest.mark.postgres
def test_postgres_connection_killed_reconnects_without_spooling(tmp_path: Path):
    if not pg_reachable():
        pytest.skip("PostgreSQL not reachable")
    reset_postgres()
    store = open_store(PG_URL, spool_dir=tmp_path / "spool")
    evs = events(2)
    assert store.record_lineage(*evs[0], [PHONE])
    pid = store._conn.get_backend_pid()  # the store's own server process, nobody else's
    killer = psycopg2.connect(PG_URL)
    killer.autocommit = True
    with killer.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cur.fetchall() == [(True,)]
    killer.close()
    assert store.record_lineage(*evs[1], [PHONE]) is True
    assert_everything_once(PG_URL, store, evs)


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'lineage.duckdb'}"
    if not pg_reachable():
        pytest.skip("PostgreSQL not reachable")
    reset_postgres()
    return PG_URL


def test_crash_between_commit_and_unlink_replays_as_a_no_op(url: str, tmp_path: Path):
    store = open_store(url, spool_dir=tmp_path / "spool")
    evs = events(3)
    batch = Batch.build(evs[0][0], edges=evs[0][1], tags=[PHONE])
    first = store.spool.put(batch.to_json())
    kept = tmp_path / "copy.json"
    shutil.copy(first, kept)
    assert store.drain() == 1
    # the drainer died after its commit and before the unlink: the file is back
    shutil.copy(kept, store.spool.pending_dir / first.name)
    for run, edges in evs[1:]:
        store.spool.put(Batch.build(run, edges=edges, tags=[PHONE]).to_json())
        store.spool.put(Batch.build(run, edges=edges, tags=[PHONE]).to_json())  # twice
    assert store.drain() == 5
    assert_everything_once(url, store, evs)


def test_a_damaged_spool_file_is_set_aside_not_lost(url: str, tmp_path: Path):
    store = open_store(url, spool_dir=tmp_path / "spool")
    evs = events(2)
    store.spool.put(b'{"format": 1, "run": ["r", "COMPLETE"')  # truncated by a full disk
    for run, edges in evs:
        store.spool.put(Batch.build(run, edges=edges, tags=[PHONE]).to_json())
    assert store.drain() == 2
    assert store.edges() == all_edges(evs)
    (failed,) = store.spool.failed()
    assert failed.read_bytes().startswith(b'{"format": 1')
    assert "unreadable spooled batch" in failed.with_suffix(".reason").read_text()
