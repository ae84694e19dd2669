"""Fuzz the SQL analyser: random and mutated SQL ends in lineage or Unknowns, never an exception.

The mutations start from the golden corpus (tests/fixtures/lineage/*.yaml): tokens deleted,
duplicated, swapped, replaced or inserted, the script truncated. Each input must finish within
the per-example deadline (no hang) and give one StatementLineage per statement whose edges
and unknowns are well-formed. ``strict=True`` may only raise SqlAnalysisError.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fuzz_support import count, fuzz_settings, mutated
from hypothesis import given
from hypothesis import strategies as st

from purpose_lineage.core.lineage import analyze
from purpose_lineage.core.model import ColumnRef, Edge, StatementLineage, Unknown
from purpose_lineage.errors import SqlAnalysisError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "core"))
from lineage_corpus import load_cases, load_catalogs  # noqa: E402

CASES = load_cases()
CATALOGS = load_catalogs()
DIALECTS = [None, "duckdb", "postgres", "snowflake", "bigquery", "spark", "mysql"]
SQL_WORDS = [
    "SELECT", "FROM", "WHERE", "JOIN", "LEFT", "ON", "USING", "GROUP", "BY", "ORDER", "HAVING", "UNION",
    "ALL", "INSERT", "INTO", "CREATE", "TABLE", "VIEW", "AS", "WITH", "MERGE", "UPDATE", "SET", "DELETE",
    "CASE", "WHEN", "THEN", "END", "IN", "EXISTS", "NOT", "NULL", "OVER", "PARTITION", "QUALIFY",
    "LATERAL", "VALUES", "*", ",", ".", "(", ")", ";", "'", '"', "`", "=", "--", "/*", "*/", "$1",
    "?", "\\", "\n", " ", "sha256", "md5(", "users_2fa", "phone_number", "\u00e9", "\u202e", "\x00",
]  # fmt: skip

corpus_sql = st.sampled_from(CASES).map(lambda c: c.sql)


def _check(results: list, sql: str) -> None:
    assert isinstance(results, list)
    for i, st_ in enumerate(results):
        assert isinstance(st_, StatementLineage)
        assert st_.index == i
        for e in st_.edges:
            assert isinstance(e, Edge) and isinstance(e.source, ColumnRef) and isinstance(e.target, ColumnRef)
        for u in st_.unknowns:
            assert isinstance(u, Unknown) and isinstance(u.reason, str) and u.reason


@fuzz_settings(400)
@given(
    sql=mutated(corpus_sql, SQL_WORDS, max_mutations=5),
    dialect=st.sampled_from(DIALECTS),
    catalog=st.sampled_from([None, *CATALOGS]),
)
def test_mutated_corpus_sql_gives_lineage_or_unknowns(sql: str, dialect: str | None, catalog: str | None):
    count("sql.mutated_corpus")
    _check(analyze(sql, dialect=dialect, schema=CATALOGS.get(catalog) if catalog else None), sql)


@fuzz_settings(300)
@given(
    sql=st.lists(st.sampled_from(SQL_WORDS) | st.text(max_size=5), max_size=40).map(" ".join),
    dialect=st.sampled_from(DIALECTS),
)
def test_random_token_soup_gives_lineage_or_unknowns(sql: str, dialect: str | None):
    count("sql.token_soup")
    _check(analyze(sql, dialect=dialect), sql)


@fuzz_settings(200)
@given(sql=st.text(max_size=200), dialect=st.sampled_from(DIALECTS))
def test_random_text_gives_lineage_or_unknowns(sql: str, dialect: str | None):
    count("sql.random_text")
    _check(analyze(sql, dialect=dialect), sql)


@fuzz_settings(200)
@given(sql=mutated(corpus_sql, SQL_WORDS, max_mutations=3), dialect=st.sampled_from(DIALECTS))
def test_strict_mode_raises_only_sql_analysis_error(sql: str, dialect: str | None):
    count("sql.strict")
    try:
        results = analyze(sql, dialect=dialect, strict=True)
    except SqlAnalysisError as exc:
        assert str(exc)
    else:
        _check(results, sql)


@pytest.mark.parametrize("depth", [50, 500, 5000])
def test_deep_nesting_is_an_unknown_not_a_crash(depth: int):
    count("sql.deep_nesting")
    sql = "SELECT " + "(" * depth + "1" + ")" * depth + " AS x FROM t"
    _check(analyze(sql), sql)
