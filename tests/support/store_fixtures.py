"""Store fixtures (a pytest plugin, see tests/conftest.py): the same tests run on DuckDB and PostgreSQL.

PostgreSQL tests use a schema of their own in the database ``pl_store`` (override with
PURPOSE_LINEAGE_TEST_PG_URL), emptied before each test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from store_support import PG_URL, pg_reachable, reset_postgres

from purpose_lineage.store import open_store


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
