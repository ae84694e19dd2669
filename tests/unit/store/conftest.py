"""Store fixtures: the same tests run on DuckDB and on PostgreSQL.

PostgreSQL tests use the database ``pl_store`` (override with PURPOSE_LINEAGE_TEST_PG_URL),
emptied before each test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from purpose_lineage.store import open_store

PG_URL = os.environ.get("PURPOSE_LINEAGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/pl_store")
PG_TABLES = (
    "pl_schema_version pl_datasets pl_columns pl_edges pl_edge_runs pl_dataset_edges pl_tags pl_runs "
    "pl_run_events pl_run_datasets pl_assertions pl_verdicts pl_alert_claims"
).split()


def pg_reachable() -> bool:
    import psycopg2

    try:
        psycopg2.connect(PG_URL, connect_timeout=2).close()
        return True
    except psycopg2.Error:
        return False


def reset_postgres(url: str = PG_URL) -> None:
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=3)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {', '.join(PG_TABLES)} CASCADE")
        cur.execute("DROP SEQUENCE IF EXISTS pl_dataset_seq, pl_column_seq CASCADE")
    conn.close()


def pg_rows(sql: str, url: str = PG_URL) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=3)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request) -> str:
    if request.param == "postgresql" and not pg_reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    return request.param


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> str:
    if backend == "duckdb":
        return f"duckdb:///{tmp_path / 'lineage.duckdb'}"
    reset_postgres()
    return PG_URL


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def store(store_url: str, spool_dir: Path):
    s = open_store(store_url, spool_dir=spool_dir)
    yield s
    s.close()


def raw_rows(store, sql: str) -> list[tuple]:
    """Rows straight from the backend, bypassing the store's read path."""
    if store.dialect == "duckdb":
        import duckdb

        con = duckdb.connect(str(store.path), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    return pg_rows(sql, store.dsn)


@pytest.fixture
def raw(store):
    """``raw(sql)``: rows read straight from the backend."""
    return lambda sql: raw_rows(store, sql)
