"""Around the transform SQL: one warehouse open, the catalog read, the start analysis reused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from purpose_lineage.hooks.duckdb import DuckDBHook
from purpose_lineage.operators.sql import DuckDBPurposeOperator, read_columns


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute('CREATE TABLE users_2fa (user_id INT, "Phone" VARCHAR, score DECIMAL(10,2), tags INT[])')
    con.execute("CREATE SCHEMA ads")
    con.execute("CREATE TABLE ads.advertiser_list (campaign_id INT, phone_sha256 VARCHAR)")
    con.execute("CREATE VIEW v AS SELECT user_id FROM users_2fa")
    con.close()
    return path


def test_shared_connection_opens_the_file_once_and_closes_it(warehouse: Path) -> None:
    hook = DuckDBHook(database=str(warehouse))
    with hook.shared_connection():
        hook.run("CREATE TABLE t AS SELECT 1 AS x")
        assert hook.get_records("SELECT x FROM t") == [(1,)]
        with pytest.raises(duckdb.Error):  # still open here: another configuration is refused
            duckdb.connect(str(warehouse), read_only=True)
    con = duckdb.connect(str(warehouse), read_only=True)  # closed on exit: GX and friends may open it
    assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    con.close()


def test_duckdb_catalog_read_matches_information_schema(warehouse: Path) -> None:
    hook = DuckDBHook(database=str(warehouse))
    tables = {"main.users_2fa", "ads.advertiser_list", "main.v", "main.missing"}
    got = read_columns(hook, tables, "main")
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "ORDER BY table_schema, table_name, ordinal_position"
    ).fetchall()
    con.close()
    expected: dict[str, list[tuple[str, str]]] = {}
    for schema, name, column, type_ in rows:
        expected.setdefault(f"{schema}.{name}".lower(), []).append((column.lower(), type_))
    assert got == expected  # the missing table is left out
    assert list(got) == sorted(got)
    assert got["main.users_2fa"] == [
        ("user_id", "INTEGER"),
        ("phone", "VARCHAR"),
        ("score", "DECIMAL(10,2)"),
        ("tags", "INTEGER[]"),
    ]


def test_start_analysis_is_used_once_by_execute(warehouse: Path, monkeypatch) -> None:
    monkeypatch.setitem(
        os.environ, "AIRFLOW_CONN_WH_OPS", json.dumps({"conn_type": "duckdb", "host": str(warehouse)})
    )
    op = DuckDBPurposeOperator(
        task_id="t", conn_id="wh_ops", sql="CREATE TABLE x AS SELECT user_id FROM users_2fa"
    )
    statements = op.start_analysis()
    assert statements[0].output == "main.x"
    assert op._take_start_analysis() is statements
    assert op._take_start_analysis() is None  # a later try parses again
    op.start_analysis()
    op.sql = "CREATE TABLE y AS SELECT user_id FROM users_2fa"  # changed since: not reused
    assert op._take_start_analysis() is None
