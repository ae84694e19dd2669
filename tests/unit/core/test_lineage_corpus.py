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
        kinds = {e.kind for st in results for e in st.edges if (e.source.table, e.source.column) == (table, column)}
        if kinds != {EdgeKind.INDIRECT}:
            problems.append(f"{ref} should be used only indirectly, got {sorted(kinds)}")
    assert not problems, "\n".join(problems)
