"""One transform's lineage, end to end: analyse the SQL, propagate purposes, record, report.

Shared by every transform operator and by the guard. It takes its collaborators (store,
policy, catalog) as arguments so it runs the same in a task, a test or the static check.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from purpose_lineage.core.model import (
    Edge,
    RowConstraint,
    StatementLineage,
    Tag,
    TagSource,
    Unknown,
    Violation,
)

if TYPE_CHECKING:
    from purpose_lineage.core.policy import Policy

log = logging.getLogger(__name__)

# sqlglot dialect names for common-sql hook dialects
SQLGLOT_DIALECTS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "duckdb": "duckdb",
    "mysql": "mysql",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "sqlite": "sqlite",
    "mssql": "tsql",
}
DEFAULT_SCHEMAS = {"duckdb": "main", "postgres": "public"}


@dataclass(frozen=True)
class TraceResult:
    """What one transform did to purposes. Metadata only: never data values."""

    statements: tuple[StatementLineage, ...]
    input_tags: tuple[Tag, ...] = ()
    output_tags: tuple[Tag, ...] = ()
    violations: tuple[Violation, ...] = ()
    columns: Mapping[str, Sequence[tuple[str, str | None]]] = field(default_factory=dict)

    @property
    def edges(self) -> tuple[Edge, ...]:
        return tuple(e for s in self.statements for e in s.edges)

    @property
    def unknowns(self) -> tuple[Unknown, ...]:
        return tuple(u for s in self.statements for u in s.unknowns)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.output for s in self.statements if s.output))

    @property
    def inputs(self) -> tuple[str, ...]:
        made = set(self.outputs)
        return tuple(dict.fromkeys(t for s in self.statements for t in s.inputs if t not in made))

    @property
    def verdict(self) -> str:
        return "fail" if self.violations else ("unknown" if self.unknowns else "pass")

    def summary(self) -> dict:
        """A JSON-able summary for XCom: counts and names, no values."""
        return {
            "verdict": self.verdict,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "edges": len(self.edges),
            "indirect_edges": sum(1 for e in self.edges if e.kind.value == "INDIRECT"),
            "propagated_tags": len(self.output_tags),
            "violations": len(self.violations),
            "unknowns": len(self.unknowns),
        }


def analyze_sql(
    sql: str,
    *,
    dialect: str | None,
    catalog: Mapping[str, Sequence[str]] | None = None,
    default_schema: str | None = None,
) -> tuple[StatementLineage, ...]:
    from purpose_lineage.core.lineage import analyze

    return tuple(analyze(sql, dialect=dialect, schema=catalog, default_table_prefix=default_schema))


def trace(
    statements: Sequence[StatementLineage],
    *,
    upstream_edges: Iterable[Edge] = (),
    upstream_tags: Iterable[Tag] = (),
    upstream_constraints: Mapping[str, Sequence[RowConstraint]] | None = None,
    policy: Policy,
    run_id: str | None = None,
) -> TraceResult:
    """Propagate purposes through ``statements`` on top of their inputs' current lineage.

    ``upstream_*`` come from :func:`purpose_lineage.operators.current.current_lineage` over
    the statements' inputs, so that purposes and violations carry across tasks and DAGs.
    """
    from purpose_lineage.core.evaluate import constraints_by_table, find_violations, place_unknowns
    from purpose_lineage.core.propagate import propagate

    own_edges = [e for s in statements for e in s.edges]
    edges = [*upstream_edges, *own_edges]
    source_tags = tuple(upstream_tags)
    outputs = {s.output for s in statements if s.output}
    output_tags = tuple(
        dataclasses.replace(t, run_id=run_id)
        for t in propagate(source_tags, edges, policy)
        if t.column.table in outputs and t.source is TagSource.PROPAGATED
    )
    constraints = {**(upstream_constraints or {}), **constraints_by_table(statements)}
    violations = find_violations(
        source_tags, edges, policy, constraints=constraints, unknowns=place_unknowns(statements)
    )
    input_tags = tuple(t for t in source_tags if t.column.table in {i for s in statements for i in s.inputs})
    return TraceResult(tuple(statements), input_tags, output_tags, tuple(violations))
