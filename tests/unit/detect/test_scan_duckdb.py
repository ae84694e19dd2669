"""scan() against real DuckDB files: selection, sampling bounds, types, errors."""

from __future__ import annotations

import random

import duckdb
import pandas as pd
import phonenumbers
import pytest

from purpose_lineage.detect.duckdb_sampler import DuckDBWarehouse, build_query
from purpose_lineage.detect.model import DetectedClass
from purpose_lineage.detect.scan import scan
from purpose_lineage.detect.warehouse import ColumnInfo, TableInfo, open_warehouse
from purpose_lineage.errors import DetectionError


def uk_mobiles(n: int) -> list[int]:
    """Valid UK mobile numbers with country code, as integers (447xxxxxxxxx)."""
    rng = random.Random(11)
    out: list[int] = []
    while len(out) < n:
        digits = f"447{rng.randint(100000000, 999999999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse("+" + digits)):
            out.append(int(digits))
    return out


@pytest.fixture()
def small_db(tmp_path) -> str:
    path = tmp_path / "small.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA crm")
    con.execute(
        "CREATE TABLE crm.users AS SELECT i AS id, "
        "'+44 20 7946 ' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0') AS contact, "
        "'user' || i || '@example.org' AS login, DATE '2020-01-01' + CAST(i AS INTEGER) AS signup, "
        "CAST(NULL AS BIGINT) AS msisdn FROM range(3000) t(i)"
    )
    con.register("m", pd.DataFrame({"id": range(3000), "msisdn": uk_mobiles(3000)}))
    con.execute("UPDATE crm.users SET msisdn = m.msisdn FROM m WHERE crm.users.id = m.id")
    con.unregister("m")
    con.execute("CREATE TABLE main.orders AS SELECT i AS order_id, i * 1.5 AS amount FROM range(500) t(i)")
    con.execute('CREATE TABLE main."Odd ""Name""" ("we""ird col" VARCHAR)')
    odd = 'main."Odd ""Name"""'
    con.execute(f"INSERT INTO {odd} VALUES ('a@b.example.org'), ('c@d.example.org')")
    con.close()
    return f"duckdb:///{path}"


def test_whole_database_scan(small_db):
    report = scan(small_db)
    verdicts = {(f.table, f.column): f.detected for f in report.findings}
    assert verdicts[("crm.users", "contact")] is DetectedClass.PHONE
    assert verdicts[("crm.users", "login")] is DetectedClass.EMAIL
    assert verdicts[("crm.users", "id")] is DetectedClass.NONE
    assert verdicts[('main.Odd "Name"', 'we"ird col')] is DetectedClass.EMAIL
    assert ("crm.users", "signup") not in verdicts  # DATE columns are never scanned
    assert ("main.orders", "amount") not in verdicts  # neither are decimals with a scale
    assert report.tables == ["crm.users", 'main.Odd "Name"', "main.orders"]
    assert report.values == 3000 * 4 + 2 + 500


def test_table_selection_by_name_and_schema(small_db):
    report = scan(small_db, tables=["users", "main.orders"])
    assert report.tables == ["crm.users", "main.orders"]
    with pytest.raises(DetectionError, match="no such table: nope"):
        scan(small_db, tables=["nope"])


def test_bigint_digit_phones_with_country_code(small_db):
    report = scan(small_db, tables=["crm.users"])
    msisdn = next(f for f in report.findings if f.column == "msisdn")
    # UK mobile numbers with country code, stored as BIGINT
    assert msisdn.detected is DetectedClass.PHONE
    assert msisdn.region == "GB" and msisdn.examples[0].startswith("+44 ")


def test_reservoir_and_system_sampling_bound_the_rows(tmp_path):
    path = tmp_path / "big.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE big AS SELECT i, 'user' || i || '@example.org' AS email FROM range(1200000) t(i)"
    )
    con.close()
    for rows in (1_000, 100_000):  # system + reservoir (1.2M > 50 x 1k), then reservoir only
        report = scan(f"duckdb:///{path}", sample_rows=rows, validate_limit=50)
        email = next(f for f in report.findings if f.column == "email")
        assert email.detected is DetectedClass.EMAIL
        assert report.rows == rows
        assert email.validated == 32  # stops early once clearly valid


def test_query_quotes_identifiers_and_bounds_lists():
    table = TableInfo('s"x', "t", (ColumnInfo('c"1', "VARCHAR"),), estimated_rows=10**9)
    sql = build_query(table, table.columns, 5000, 64)
    assert '"s""x"."t"' in sql and 'CAST("c""1" AS VARCHAR)' in sql
    assert "reservoir(5000 ROWS)" in sql and "(system, " in sql and "list_slice(" in sql and ", 1, 64)" in sql


def test_bad_urls_are_clear_errors(tmp_path):
    with pytest.raises(DetectionError, match="unsupported database URL scheme 'mysql'"):
        scan("mysql://localhost/db")
    with pytest.raises(DetectionError, match="cannot open DuckDB database"):
        scan(f"duckdb:///{tmp_path}/missing/dir/x.duckdb")


def test_scan_is_read_only(small_db):
    wh = open_warehouse(small_db)
    try:
        with pytest.raises(duckdb.Error):
            wh.con.execute("CREATE TABLE x (i INT)")
    finally:
        wh.close()


def test_a_failing_table_is_reported_and_the_scan_goes_on(small_db):
    class Flaky(DuckDBWarehouse):
        def sample(self, table, *, rows, validate_limit):
            if table.name == "orders":
                raise RuntimeError("boom near 'user7@example.org' and +44 20 7946 0007")
            return super().sample(table, rows=rows, validate_limit=validate_limit)

    wh = Flaky(small_db.removeprefix("duckdb:///"))
    try:
        report = scan(wh)
    finally:
        wh.close()
    assert list(report.errors) == ["main.orders"]
    assert "user7@example.org" not in report.errors["main.orders"]
    assert "7946" not in report.errors["main.orders"]
    assert any(f.detected is DetectedClass.EMAIL for f in report.findings)


def test_progress_callback(small_db):
    seen = []
    scan(small_db, progress=lambda done, total, name: seen.append((done, total, name)))
    assert seen == [(1, 3, "crm.users"), (2, 3, 'main.Odd "Name"'), (3, 3, "main.orders")]
