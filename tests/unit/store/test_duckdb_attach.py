"""A DuckDB store lent a warehouse connection attaches its file there instead of starting a database."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from helpers.duckdb_holder import held_by_another_process
from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag
from purpose_lineage.errors import StoreError
from purpose_lineage.store import open_store
from purpose_lineage.store.base import RunInfo
from purpose_lineage.store.duckdb_store import DuckDBStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COPY = Edge(ColumnRef("auth.users_2fa", "user_id"), ColumnRef("ads.matched", "user_id"), Subtype.IDENTITY)
TAG = Tag(ColumnRef("auth.users_2fa", "phone"), "user.contact.phone_number", "essential.service.security")


def run(run_id: str) -> RunInfo:
    return RunInfo(run_id, "COMPLETE", T0, job_name="ads.match", dag_id="ads", task_id="match")


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    got = open_store(f"duckdb:///{tmp_path / 'lineage.duckdb'}", spool_dir=tmp_path / "spool")
    assert isinstance(got, DuckDBStore)
    return got


@pytest.fixture
def warehouse(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    # a warehouse table named like a store table must never be read or written by the store
    con.execute("CREATE TABLE pl_schema_version (version INT)")
    con.execute("INSERT INTO pl_schema_version VALUES (999)")
    yield con
    con.close()


def no_own_database(monkeypatch) -> None:
    def refuse(self, wait):
        raise AssertionError("the store started a database of its own")

    monkeypatch.setattr(DuckDBStore, "_connect", refuse)


def test_a_session_attached_to_a_warehouse_reads_and_writes_the_store_file(store, warehouse, monkeypatch):
    store.record_tags([TAG])  # creates the store on its own
    no_own_database(monkeypatch)
    with store.attached_to(warehouse), store.session():
        assert [t.purpose for t in store.tags_for(["auth.users_2fa"])] == [TAG.purpose]
        assert store.record_lineage(run("r1"), [COPY]) is True
        assert store.edges(run_id="r1") == [COPY]
    # the warehouse is as it was: its own default database, nothing of the store left attached
    assert warehouse.execute("SELECT current_database()").fetchone() == ("wh",)
    assert warehouse.execute("SELECT version FROM pl_schema_version").fetchall() == [(999,)]
    attached = {r[0] for r in warehouse.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    assert not any(name.startswith("purpose_lineage_store") for name in attached)
    monkeypatch.undo()
    # detached means checkpointed and closed: another process opens the file read-only
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('SELECT count(*) FROM pl_edges').fetchone()[0])",
            str(store.path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "1"


def test_a_fresh_store_is_created_in_its_own_file_not_in_the_warehouse(tmp_path, warehouse, monkeypatch):
    store = open_store(f"duckdb:///{tmp_path / 'new.duckdb'}", spool_dir=tmp_path / "spool")
    no_own_database(monkeypatch)
    with store.attached_to(warehouse):
        store.record_lineage(run("r1"), [COPY])  # migrations run in the attached file
        assert store.edges() == [COPY]
    tables = {r[0] for r in warehouse.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"pl_schema_version"}  # the warehouse's own, unchanged
    monkeypatch.undo()
    assert open_store(store.url, spool_dir=tmp_path / "spool").edges() == [COPY]


def test_not_a_duckdb_connection_changes_nothing(store):
    with store.attached_to(None), store.attached_to(object()):
        store.record_lineage(run("r1"), [COPY])
    assert store.edges() == [COPY]


def test_a_file_this_process_holds_falls_back_to_its_own_database(store, warehouse):
    store.record_lineage(run("r1"), [COPY])
    held = duckdb.connect(str(store.path))  # e.g. a notebook cell in the same process
    try:
        with store.attached_to(warehouse):
            assert store.edges() == [COPY]
    finally:
        held.close()


def test_a_file_locked_by_another_program_spools_writes_and_fails_reads(store, warehouse):
    store.record_lineage(run("r1"), [COPY])
    store.read_wait = 0.3
    with held_by_another_process(store.path):
        with store.attached_to(warehouse):
            assert store.record_lineage(run("r2"), [COPY]) is False  # spooled, kept
            with pytest.raises(StoreError, match="unreachable"):
                store.edges()
        assert warehouse.execute("SELECT count(*) FROM pl_schema_version").fetchone() == (1,)
    assert store.pending() == 1
    with store.attached_to(warehouse):
        assert store.drain() == 1
        assert len(store.runs_for("ads.matched")) == 2
