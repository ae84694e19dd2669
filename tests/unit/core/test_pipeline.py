"""core/pipeline.py: one pipeline out of many SQL sources, located findings, fail-closed unknowns."""

from __future__ import annotations

import pytest

from purpose_lineage.core.model import ColumnRef, Tag
from purpose_lineage.core.pipeline import (
    Location,
    SqlSource,
    TagsCatalog,
    _written_table,
    evaluate_pipeline,
)
from purpose_lineage.core.policy import load_policy

PHONE = Tag(ColumnRef("users_2fa", "phone_number"), "user.contact.phone_number", "essential.service.security")
CATALOG = TagsCatalog((PHONE,), {"users_2fa": ("user_id", "phone_number", "country")})


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def _sinks(result) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.violation.sink, tuple(h.table for h in f.violation.path)) for f in result.findings]


def test_tables_built_by_earlier_sources_feed_later_ones(policy):
    sources = [
        SqlSource("a.sql", "CREATE TABLE s AS SELECT * FROM users_2fa"),
        SqlSource("b.sql", "CREATE TABLE ad_audience_x AS SELECT * FROM s"),
    ]
    result = evaluate_pipeline(sources, policy, CATALOG, dialect="duckdb")
    assert _sinks(result) == [("ad_audience_x", ("users_2fa", "s", "ad_audience_x"))]
    assert result.unknowns == ()
    assert result.findings[0].location == Location("b.sql", 1, "b.sql", 1)


def test_columns_of_built_tables_cross_a_dialect_change(policy):
    sources = [
        SqlSource("a.sql", "CREATE TABLE s AS SELECT user_id, phone_number FROM users_2fa", "duckdb"),
        SqlSource("b.sql", "CREATE TABLE ad_audience_x AS SELECT * FROM s", "postgres"),
    ]
    result = evaluate_pipeline(sources, policy, CATALOG)
    assert _sinks(result) == [("ad_audience_x", ("users_2fa", "s", "ad_audience_x"))]
    assert result.unknowns == ()  # SELECT * over s was expanded from a.sql's columns


def test_lines_are_those_of_each_file_and_of_the_embedding_file(policy):
    sources = [
        SqlSource("a.sql", "-- one\n-- two\nCREATE TABLE s AS SELECT phone_number FROM users_2fa;"),
        SqlSource(
            "dag.task",
            "\n\nINSERT INTO ad_audience_x SELECT phone_number FROM s WHERE (",
            path="dag.py",
            line=40,
        ),
    ]
    result = evaluate_pipeline(sources, policy, CATALOG)
    (unknown,) = result.unknowns
    assert unknown.location == Location("dag.py", 42, "dag.task", 1)
    assert unknown.unknown.reason.endswith("(line 42, col 60)")  # the parse error's own line, shifted too
    assert unknown.blocking
    assert {f.location for f in result.findings} == {Location("dag.py", 42, "dag.task", 1)}


def test_unreadable_source_blocks_unless_unknowns_are_allowed(policy):
    bad = SqlSource("dag.t", "", path="dag.py", line=7, problem="templated SQL does not render")
    result = evaluate_pipeline([bad], policy, CATALOG)
    assert result.verdict == "fail"
    assert [(u.unknown.reason, u.location.line, u.blocking) for u in result.unknowns] == [
        ("templated SQL does not render", 7, True)
    ]
    assert evaluate_pipeline([bad], policy, CATALOG, allow_unknown=True).verdict == "pass"


def test_a_tag_meets_the_schema_qualified_name_both_ways(policy):
    qualified = TagsCatalog(
        (Tag(ColumnRef("main.users_2fa", "phone_number"), PHONE.category, PHONE.purpose),)
    )
    for catalog, sql in [
        (CATALOG, "CREATE TABLE ad_audience_x AS SELECT phone_number FROM main.users_2fa"),
        (qualified, "CREATE TABLE ad_audience_x AS SELECT phone_number FROM users_2fa"),
    ]:
        result = evaluate_pipeline([SqlSource("a.sql", sql)], policy, catalog)
        assert [f.violation.sink for f in result.findings] == ["ad_audience_x"], sql


def test_an_unknown_off_every_sink_path_is_reported_but_does_not_block(policy):
    result = evaluate_pipeline(
        [SqlSource("a.sql", "CREATE TABLE staging AS SELECT * FROM raw_events")], policy, CATALOG
    )
    assert result.verdict == "pass"
    assert [(u.unknown.table, u.unknown.inputs, u.blocking) for u in result.unknowns] == [
        ("staging", ("raw_events",), False)
    ]


def test_summary_counts(policy):
    sources = [
        SqlSource(
            "a.sql",
            "CREATE TABLE ad_audience_x AS SELECT u.user_id FROM users_2fa u "
            "JOIN advertiser_uploads a ON a.phone = u.phone_number",
        )
    ]
    summary = evaluate_pipeline(sources, policy, CATALOG).summary()
    assert summary == {
        "verdict": "fail",
        "sources": 1,
        "statements": 1,
        "tables_written": 1,
        "edges": summary["edges"],
        "indirect_edges": summary["indirect_edges"],
        "violations": 1,
        "violations_by_rule": {"security-contact-never-to-ads": 1},
        "unknowns": 0,
        "blocking_unknowns": 0,
        "allow_unknown": False,
    }
    assert summary["indirect_edges"] == 4 and summary["edges"] == 5  # 2 join keys x (dataset + user_id)


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("INSERT INTO Ad_Audience SELECT (", "ad_audience"),
        ("insert overwrite table db.ads select", "db.ads"),
        ('CREATE OR REPLACE TEMP TABLE "Main"."X" AS SELECT (', "main.x"),
        ("-- c\nCREATE MATERIALIZED VIEW IF NOT EXISTS v AS", "v"),
        ("MERGE INTO t USING s ON", "t"),
        ("UPDATE t SET a = (", "t"),
        ("COPY ads FROM 'x.csv'", "ads"),
        ("COPY ads TO 'x.csv'", None),
        ("SELECT (", None),
        ("CALL f()", None),
    ],
)
def test_written_table_of_an_unreadable_statement(sql, table):
    assert _written_table(sql) == table
