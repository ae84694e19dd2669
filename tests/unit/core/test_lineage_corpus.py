"""The golden corpus: every case's whole edge set, unknowns and constraints."""

from __future__ import annotations

from collections import Counter

import pytest
from lineage_corpus import Case, check_statement, load_cases

from purpose_lineage.core.lineage import analyze
from purpose_lineage.core.model import EdgeKind

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case: Case) -> None:
    results = analyze(case.sql, dialect=case.dialect, schema=case.catalog, default_table_prefix=case.prefix)
    problems = []
    if len(results) != len(case.statements):
        problems.append(f"{len(results)} statements, expected {len(case.statements)}")
    for i, (want, st) in enumerate(zip(case.statements, results, strict=False)):
        problems += [f"statement {i}: {p}" for p in check_statement(case, want, st)]
    for ref in case.indirect_only:
        table, _, column = ref.rpartition(".")
        kinds = {
            e.kind for st in results for e in st.edges if (e.source.table, e.source.column) == (table, column)
        }
        if kinds != {EdgeKind.INDIRECT}:
            problems.append(f"{ref} should be used only indirectly, got {sorted(kinds)}")
    assert not problems, "\n".join(problems)


def test_corpus_covers_dialects_and_indirect_only_uses() -> None:
    assert len(CASES) >= 150
    dialects = Counter(c.dialect for c in CASES)
    for dialect in ("duckdb", "postgres", "snowflake", "bigquery"):
        assert dialects[dialect] >= 10, dialect
    assert dialects["spark"] + dialects["databricks"] >= 3
    assert dialects["mysql"] >= 3
    assert sum(1 for c in CASES if c.indirect_only) >= 40


def test_incident_queries_are_in_the_corpus_verbatim() -> None:
    by_name = {c.name: c.sql.strip() for c in CASES}
    assert by_name["incident_join_masked"] == (
        "INSERT INTO ad_audience SELECT a.campaign_id, u.user_id FROM advertiser_list a "
        "JOIN users_2fa u ON a.phone_sha256 = sha256(u.phone_number)"
    )
    assert "WHERE u.phone_number IN (SELECT phone FROM advertiser_list)" in by_name["incident_filter_in"]
