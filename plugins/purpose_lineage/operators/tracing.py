"""One transform's lineage, end to end: analyse the SQL, propagate purposes, record, report.

Shared by every transform operator and by the guard. It takes its collaborators (store,
policy, catalog) as arguments so it runs the same in a task, a test or the static check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from purpose_lineage.core.model import Edge, StatementLineage, Tag, TagSource, Unknown, Violation

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
    upstream_tags: Iterable[Tag],
    policy: object,
) -> TraceResult:
    """Propagate ``upstream_tags`` through the statements' edges and evaluate the policy."""
    from purpose_lineage.core.propagate import find_violations, propagate

    edges = [e for s in statements for e in s.edges]
    source_tags = tuple(upstream_tags)
    outputs = {s.output for s in statements if s.output}
    propagated = propagate(source_tags, edges, policy)
    output_tags = tuple(
        t for t in propagated if t.column.table in outputs and t.source is TagSource.PROPAGATED
    )
    constraints = {s.output: s.constraints for s in statements if s.output}
    unknowns = [u for s in statements for u in s.unknowns]
    violations = find_violations(source_tags, edges, policy, constraints=constraints, unknowns=unknowns)
    return TraceResult(tuple(statements), source_tags, output_tags, tuple(violations))
