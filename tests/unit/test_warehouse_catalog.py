"""Reading the lineage catalog from a real warehouse (DuckDB file, PostgreSQL database)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from purpose_lineage.cli import main
from purpose_lineage.core.lineage import analyze
from purpose_lineage.warehouse_catalog import catalog_from_url, read_catalog

PG_URL = "postgresql://postgres@127.0.0.1:5432/pl_lineage"


@pytest.fixture
def duckdb_file(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE users_2fa (user_id INT, phone_number VARCHAR)")
    con.execute("CREATE SCHEMA ads")
    con.execute("CREATE TABLE ads.advertiser_list (campaign_id INT, phone_sha256 VARCHAR)")
    con.execute("CREATE VIEW v AS SELECT user_id FROM users_2fa")
    con.close()
    return path


def test_duckdb_catalog_expands_stars(duckdb_file: Path) -> None:
    catalog = catalog_from_url(f"duckdb:///{duckdb_file}")
    assert catalog == {
        "ads.advertiser_list": ["campaign_id", "phone_sha256"],
        "main.users_2fa": ["user_id", "phone_number"],
        "main.v": ["user_id"],
    }
    sql = "SELECT * FROM users_2fa u JOIN advertiser_list a ON a.phone_sha256 = sha256(u.phone_number)"
    [st] = analyze(sql, dialect="duckdb", schema=catalog)
    assert st.columns == ("user_id", "phone_number", "campaign_id", "phone_sha256")
    assert st.inputs == ("main.users_2fa", "ads.advertiser_list")
    assert not st.unknowns


def test_cli_reads_the_catalog_from_duckdb(
    duckdb_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT * FROM v")
    assert main(["lineage", str(sql), "--catalog-from", f"duckdb:///{duckdb_file}", "--format", "json"]) == 0
    [st] = json.loads(capsys.readouterr().out)
    assert st["columns"] == ["user_id"]


def test_bad_catalog_url_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT 1")
    assert main(["lineage", str(sql), "--catalog-from", "mysql://x"]) == 1
    assert "unsupported catalog URL scheme" in capsys.readouterr().err
    assert main(["lineage", str(sql), "--catalog-from", f"duckdb:///{tmp_path / 'missing.db'}"]) == 1
    assert "cannot read the catalog" in capsys.readouterr().err


@pytest.mark.postgres
def test_postgres_catalog() -> None:
    import psycopg2

    conn = psycopg2.connect(PG_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS lineage_test CASCADE")
        cur.execute("CREATE SCHEMA lineage_test")
        cur.execute("CREATE TABLE lineage_test.users (user_id int, phone text, consent boolean)")
    try:
        catalog = read_catalog(conn, schemas=["lineage_test"])
        assert catalog == {"lineage_test.users": ["user_id", "phone", "consent"]}
        [st] = analyze("SELECT * FROM users WHERE consent", dialect="postgres", schema=catalog)
        assert st.columns == ("user_id", "phone", "consent")
        assert [str(c.column) for c in st.constraints] == ["lineage_test.users.consent"]
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP SCHEMA lineage_test CASCADE")
        conn.close()
