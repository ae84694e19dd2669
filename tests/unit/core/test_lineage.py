"""analyze(): exact results on the incident, error handling, options and conventions."""

from __future__ import annotations

import logging

import pytest
import sqlglot

from purpose_lineage.core import sql_statements
from purpose_lineage.core.lineage import RESULT_TABLE, analyze
from purpose_lineage.core.model import ColumnRef, Edge, EdgeKind, RowConstraint, Subtype
from purpose_lineage.errors import SqlAnalysisError

SOCIAL = {
    "users_2fa": ["user_id", "phone_number"],
    "advertiser_list": ["campaign_id", "phone", "phone_sha256"],
    "ad_audience": ["campaign_id", "user_id"],
}
JOIN_SQL = (
    "INSERT INTO ad_audience SELECT a.campaign_id, u.user_id FROM advertiser_list a "
    "JOIN users_2fa u ON a.phone_sha256 = sha256(u.phone_number)"
)


def _ref(text: str) -> ColumnRef:
    table, _, column = text.rpartition(".")
    return ColumnRef(table, None if column == "*" else column)


def test_incident_join_key_is_indirect_join_with_masking() -> None:
    [st] = analyze(JOIN_SQL, dialect="duckdb", schema=SOCIAL)
    phone = [e for e in st.edges if e.source == ColumnRef("users_2fa", "phone_number")]
    assert phone == [
        Edge(_ref("users_2fa.phone_number"), _ref("ad_audience.*"), Subtype.JOIN, masking=True),
        Edge(_ref("users_2fa.phone_number"), _ref("ad_audience.campaign_id"), Subtype.JOIN, masking=True),
        Edge(_ref("users_2fa.phone_number"), _ref("ad_audience.user_id"), Subtype.JOIN, masking=True),
    ]
    assert all(e.kind is EdgeKind.INDIRECT for e in phone)
    assert st.output == "ad_audience"
    assert st.inputs == ("advertiser_list", "users_2fa")
    assert st.columns == ("campaign_id", "user_id")


def test_incident_in_subquery_is_indirect_filter() -> None:
    sql = (
        "INSERT INTO ad_audience (user_id) SELECT u.user_id FROM users_2fa u "
        "WHERE u.phone_number IN (SELECT phone FROM advertiser_list)"
    )
    [st] = analyze(sql, dialect="duckdb", schema=SOCIAL)
    subtypes = {
        (e.target.column, e.subtype, e.masking)
        for e in st.edges
        if e.source == ColumnRef("users_2fa", "phone_number")
    }
    assert subtypes == {
        (None, Subtype.FILTER, False),
        ("user_id", Subtype.FILTER, False),
        (None, Subtype.JOIN, False),
        ("user_id", Subtype.JOIN, False),
    }


def test_row_level_edges_are_on_the_dataset_and_on_every_column() -> None:
    [st] = analyze("SELECT a, b FROM t WHERE c = 1 ORDER BY d", schema={"t": ["a", "b", "c", "d"]})
    for source, subtype in (("c", Subtype.FILTER), ("d", Subtype.SORT)):
        targets = {e.target.column for e in st.edges if e.source == ColumnRef("t", source)}
        assert targets == {None, "a", "b"}
        assert {e.subtype for e in st.edges if e.source == ColumnRef("t", source)} == {subtype}


def test_window_and_case_stay_on_their_column() -> None:
    [st] = analyze("SELECT a, CASE WHEN b THEN c END AS x, rank() OVER (PARTITION BY d) AS r FROM t")
    by_source = {e.source.column: (e.target.column, e.subtype) for e in st.edges}
    assert by_source == {
        "a": ("a", Subtype.IDENTITY),
        "b": ("x", Subtype.CONDITIONAL),
        "c": ("x", Subtype.TRANSFORMATION),
        "d": ("r", Subtype.WINDOW),
    }


def test_bare_select_has_no_output_and_targets_result() -> None:
    [st] = analyze("SELECT a FROM t")
    assert st.output is None
    assert st.edges == (Edge(_ref("t.a"), ColumnRef(RESULT_TABLE, "a"), Subtype.IDENTITY),)


def test_bad_statement_does_not_lose_the_others() -> None:
    results = analyze("SELECT a FROM t;\nSELECT (1;\nSELECT b FROM t", dialect="postgres")
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.line for r in results] == [1, 2, 3]
    assert results[1].unknowns[0].reason == "parse error: Expecting ) (line 2, col 9)"
    assert results[1].unknowns[0].line == 2
    assert results[2].edges[0].source == ColumnRef("t", "b")


def test_strict_raises_on_parse_errors() -> None:
    with pytest.raises(SqlAnalysisError, match="statement 2"):
        analyze("SELECT 1; SELECT (1", strict=True)


def test_parse_errors_hold_no_literal_values() -> None:
    [st] = analyze("SELECT '+15551234567', 'alice@example.com' FROM WHERE")
    reason = st.unknowns[0].reason
    assert reason.startswith("parse error:")
    assert "15551234567" not in reason and "alice" not in reason
    [st] = analyze("SELECT 'x' FROM t WHERE a = '+15551234567")  # unclosed quote
    assert "15551234567" not in st.unknowns[0].reason


def test_sqlglot_command_fallback_logs_no_sql(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        results = analyze("FOOBAR TABLE '+15551234567'", dialect="postgres")
    assert results[0].unknowns
    assert all("15551234567" not in r.getMessage() for r in caplog.records)


def test_analysis_failure_is_an_unknown_unless_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self, node, *args, **kwargs):
        raise RuntimeError("secret +15551234567")

    monkeypatch.setattr(sql_statements.Script, "statement", boom)
    [st] = analyze("SELECT a FROM t")
    assert st.unknowns[0].reason == "analysis failed: RuntimeError"
    with pytest.raises(SqlAnalysisError, match="analysis failed"):
        analyze("SELECT a FROM t", strict=True)


def test_parsed_expression_input() -> None:
    [st] = analyze(sqlglot.parse_one("SELECT sha256(p) AS h FROM t", read="duckdb"), dialect="duckdb")
    assert st.edges == (Edge(_ref("t.p"), ColumnRef(RESULT_TABLE, "h"), Subtype.TRANSFORMATION, True),)


@pytest.mark.parametrize(
    "schema",
    [
        {"t": ["a", "b"]},
        {"t": {"a": "INT", "b": "TEXT"}},
        {"T": {"A": "INT", "B": "TEXT"}},
    ],
)
def test_catalog_formats_expand_stars(schema: dict) -> None:
    [st] = analyze("SELECT * FROM t", schema=schema)
    assert st.columns == ("a", "b")


def test_nested_catalog_and_suffix_resolution() -> None:
    schema = {"db": {"main": {"users": {"id": "int"}}}}
    [st] = analyze("SELECT * FROM users", schema=schema)
    assert st.inputs == ("db.main.users",)
    assert st.edges[0].source == ColumnRef("db.main.users", "id")


def test_ambiguous_suffix_keeps_the_written_name() -> None:
    schema = {"a.users": ["id"], "b.users": ["id"]}
    [st] = analyze("SELECT id FROM users", schema=schema)
    assert st.inputs == ("users",)


def test_default_prefix_applies_to_unqualified_names_only() -> None:
    [st] = analyze("INSERT INTO out SELECT x.a FROM t x JOIN s.u y ON x.k = y.k", default_table_prefix="Main")
    assert st.output == "main.out"
    assert st.inputs == ("main.t", "s.u")


def test_constraints_are_base_table_predicates() -> None:
    sql = (
        "WITH ok AS (SELECT id, phone FROM users u WHERE u.discoverable_by_phone = true) "
        "INSERT INTO ad SELECT phone FROM ok"
    )
    [st] = analyze(sql)
    assert st.constraints == (
        RowConstraint(ColumnRef("users", "discoverable_by_phone"), "users.discoverable_by_phone = TRUE"),
    )


def test_constraints_reject_or_true_and_unrelated_tables() -> None:
    ok, loose = analyze(
        "SELECT u.id FROM users u WHERE u.discoverable_by_phone = true;"
        "SELECT u.id FROM users u WHERE u.discoverable_by_phone OR true"
    )
    assert [c.column.column for c in ok.constraints] == ["discoverable_by_phone"]
    assert loose.constraints == ()


def test_constraint_predicates_redact_contact_literals() -> None:
    [st] = analyze(
        "SELECT a FROM t WHERE email = 'alice@example.com' AND phone = '+1 555 123 4567' "
        "AND n = 15551234567 AND country = 'DE' AND day = '2024-01-01'"
    )
    text = " ".join(c.predicate for c in st.constraints)
    assert "alice" not in text and "555" not in text
    assert "t.email = '<redacted>'" in text and "t.n = 0" in text
    assert "t.country = 'DE'" in text and "t.day = '2024-01-01'" in text


def test_aggregation_edges_name_their_aggregate_for_safe_aggregation_rules():
    sql = "CREATE TABLE ad_audience_x AS SELECT count(DISTINCT phone) AS n, max(phone) AS m FROM users"
    [st] = analyze(sql)
    named = {(e.target.column, e.description) for e in st.edges if e.subtype.value == "AGGREGATION"}
    assert named == {("n", "COUNT"), ("m", "MAX")}
