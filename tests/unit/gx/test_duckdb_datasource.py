from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pytest
import sqlalchemy as sa

import purpose_lineage.gx
from purpose_lineage.gx.duckdb_datasource import DuckDBExecutionEngine, duckdb_column_metadata

purpose_lineage.gx.register()

EXPECTATIONS = [
    gxe.ExpectTableRowCountToEqual(value=0),
    gxe.ExpectColumnValuesToNotBeNull(column="v"),
    gxe.ExpectColumnValuesToMatchRegex(column="v", regex="^x1"),
    gxe.ExpectColumnMeanToBeBetween(column="id", min_value=0, max_value=1),
    gxe.UnexpectedRowsExpectation(unexpected_rows_query="SELECT * FROM {batch} WHERE id < 7"),
]


@pytest.fixture
def table_url(tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql(
            "CREATE TABLE t AS SELECT i AS id, CASE WHEN i % 10 = 0 THEN NULL ELSE 'x' || i END AS v "
            "FROM range(250) r(i)"
        )
        c.exec_driver_sql("CREATE SCHEMA s")
        c.exec_driver_sql("CREATE TABLE s.t2 AS SELECT * FROM t")
        truth = c.exec_driver_sql(
            "SELECT count(*), count(*) - count(v), "
            "count(v) - count(*) FILTER (WHERE regexp_matches(v, '^x1')), "
            "avg(id), count(*) FILTER (WHERE id < 7) FROM t"
        ).one()
    engine.dispose()
    return url, truth


def _observed(results):
    out = []
    for r in results:
        assert not r.exception_info.get("raised_exception"), r.exception_info
        out.append(r.result.get("observed_value", r.result.get("unexpected_count")))
    return out


def _validate(datasource, table, schema=None):
    asset = datasource.add_table_asset(f"{schema}_{table}", table_name=table, schema_name=schema)
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    return [batch.validate(e) for e in EXPECTATIONS]


class TestStockPathIsBroken:
    def test_stock_sql_datasource_on_duckdb_computes_no_metrics(self, table_url):
        """Why the custom datasource exists: GX's `sql` datasource reads DuckDB results too late."""
        url, _ = table_url
        context = gx.get_context(mode="ephemeral")
        datasource = context.data_sources.add_sql("stock", connection_string=url)
        results = _validate(datasource, "t")
        assert all(not r.success for r in results)
        assert all("observed_value" not in r.result for r in results)
        messages = [str(r.exception_info) for r in results]
        assert any("IndexError" in m or "list index out of range" in m for m in messages)


class TestDuckDBDatasource:
    def test_observed_values_match_duckdb(self, table_url):
        url, (rows, nulls, not_matching, mean, below7) = table_url
        context = gx.get_context(mode="ephemeral")
        datasource = context.data_sources.add_duckdb("duck", connection_string=url)
        assert isinstance(datasource.get_execution_engine(), DuckDBExecutionEngine)
        assert _observed(_validate(datasource, "t")) == [rows, nulls, not_matching, mean, below7]

    def test_schema_qualified_table(self, table_url):
        url, (rows, nulls, not_matching, mean, below7) = table_url
        context = gx.get_context(mode="ephemeral")
        datasource = context.data_sources.add_duckdb("duck", connection_string=url)
        assert _observed(_validate(datasource, "t2", "s")) == [rows, nulls, not_matching, mean, below7]

    def test_column_types_and_order(self, table_url):
        url, _ = table_url
        context = gx.get_context(mode="ephemeral")
        batch = (
            context.data_sources.add_duckdb("duck", connection_string=url)
            .add_table_asset("t2", table_name="t2", schema_name="s")
            .add_batch_definition_whole_table("all")
            .get_batch()
        )
        assert batch.validate(gxe.ExpectColumnValuesToBeOfType(column="id", type_="BIGINT")).success
        assert batch.validate(gxe.ExpectColumnValuesToBeOfType(column="v", type_="VARCHAR")).success
        assert not batch.validate(gxe.ExpectColumnValuesToBeOfType(column="v", type_="BIGINT")).success
        ordered = batch.validate(gxe.ExpectTableColumnsToMatchOrderedList(column_list=["id", "v"]))
        assert ordered.success and ordered.result["observed_value"] == ["id", "v"]

    def test_query_asset(self, table_url):
        url, (_, _, _, _, below7) = table_url
        context = gx.get_context(mode="ephemeral")
        asset = context.data_sources.add_duckdb("duck", connection_string=url).add_query_asset(
            "q", query="SELECT id FROM t WHERE id < 7"
        )
        result = (
            asset.add_batch_definition_whole_table("all")
            .get_batch()
            .validate(gxe.ExpectTableRowCountToEqual(value=below7))
        )
        assert result.success and result.result["observed_value"] == below7

    def test_column_metadata_helper_reads_no_rows(self, table_url):
        url, _ = table_url
        engine = sa.create_engine(url)
        columns = duckdb_column_metadata(engine, "t2", "s")
        engine.dispose()
        assert [c["name"] for c in columns] == ["id", "v"]
        assert [type(c["type"]).__name__ for c in columns] == ["BIGINT", "VARCHAR"]

    def test_file_context_reloads_duckdb_datasource(self, table_url, tmp_path, monkeypatch):
        url, (rows, *_) = table_url
        monkeypatch.setenv("PL_TEST_WAREHOUSE_URL", url)
        root = tmp_path / "project"
        context = gx.get_context(mode="file", project_root_dir=root)
        datasource = context.data_sources.add_duckdb("duck", connection_string="${PL_TEST_WAREHOUSE_URL}")
        datasource.add_table_asset("t", table_name="t")
        config = (root / "gx" / "great_expectations.yml").read_text()
        assert "type: duckdb" in config and "${PL_TEST_WAREHOUSE_URL}" in config and url not in config
        reopened = gx.get_context(mode="file", project_root_dir=root)
        batch = (
            reopened.data_sources.get("duck").get_asset("t").add_batch_definition_whole_table("b").get_batch()
        )
        assert batch.validate(gxe.ExpectTableRowCountToEqual(value=rows)).result["observed_value"] == rows


@pytest.mark.postgres
class TestPostgresStockDatasource:
    def test_observed_values_on_postgres(self, pg):
        wh = pg
        wh.execute(
            f"CREATE TABLE {wh.t('t')} AS SELECT i AS id, "
            "CASE WHEN mod(i, 10) = 0 THEN NULL ELSE 'x' || i END AS v FROM generate_series(0, 249) AS r(i)"
        )
        truth = list(
            wh.engine.connect()
            .exec_driver_sql(
                "SELECT count(*), count(*) - count(v), count(v) - count(*) FILTER (WHERE v ~ '^x1'), "
                "avg(id)::float, "
                f"count(*) FILTER (WHERE id < 7) FROM {wh.t('t')}"
            )
            .one()
        )
        context = gx.get_context(mode="ephemeral")
        datasource = context.data_sources.add_postgres("pg", connection_string=wh.url)
        assert datasource.type == "postgres"
        assert _observed(_validate(datasource, "t", wh.schema)) == truth
