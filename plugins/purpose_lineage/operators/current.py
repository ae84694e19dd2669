"""The *current* lineage of a table, read from the store.

The store keeps every run's edges and propagated tags, so that history can be shown. A
guard must judge what the pipeline does now: for each table, only the edges and
propagated tags written by the latest run that wrote it count. Declared and detected
tags always count. Row constraints travel as FILTER edges whose description starts with
:data:`CONSTRAINT_PREFIX` (see :func:`constraint_edges`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from purpose_lineage.core.model import (
    ColumnRef,
    Edge,
    RowConstraint,
    StatementLineage,
    Subtype,
    Tag,
    TagSource,
)
from purpose_lineage.store.base import LineageStore

CONSTRAINT_PREFIX = "row constraint: "
MAX_TABLES = 10_000


def constraint_edges(statements: Iterable[StatementLineage]) -> list[Edge]:
    """Encode each statement's row constraints as FILTER edges, so the store keeps them."""
    return [
        Edge(c.column, ColumnRef(s.output, None), Subtype.FILTER, description=CONSTRAINT_PREFIX + c.predicate)
        for s in statements
        if s.output
        for c in s.constraints
    ]


UNKNOWN_PREFIX = "unresolved lineage: "


def unknown_edges(
    statements: Iterable[StatementLineage], columns: Mapping[str, Sequence[tuple[str, str | None]]]
) -> list[Edge]:
    """Fail closed across tasks: an unresolved statement may carry any input column into its output.

    The store keeps no unknowns, so each becomes conservative edges from every column of the
    statement's inputs to the output's row set, marked by their description.
    """
    from purpose_lineage.core.evaluate import place_unknowns

    out = []
    for st in statements:
        for unknown in place_unknowns([st]):
            if not unknown.table:
                continue
            for table in unknown.inputs:
                for column, _ in columns.get(table, ()):
                    out.append(
                        Edge(
                            ColumnRef(table, column),
                            ColumnRef(unknown.table, None),
                            Subtype.TRANSFORMATION,
                            description=UNKNOWN_PREFIX + unknown.reason[:200],
                        )
                    )
    return out


@dataclass(frozen=True)
class CurrentLineage:
    """Edges, source tags and row constraints upstream of some tables, as of their latest runs."""

    edges: tuple[Edge, ...]
    tags: tuple[Tag, ...]
    constraints: dict[str, list[RowConstraint]]
    tables: tuple[str, ...]
    unwritten: tuple[str, ...]  # tables no recorded run wrote: sources, or lineage never seen


def current_lineage(store: LineageStore, tables: Sequence[str], *, depth: int = 20) -> CurrentLineage:
    """Walk upstream from ``tables``, keeping only the latest writing run's edges per table.

    Raises StoreError when the store is unreachable: callers fail closed.
    """
    edges: list[Edge] = []
    constraints: dict[str, list[RowConstraint]] = {}
    writers: dict[str, str | None] = {}
    frontier, seen = list(tables), set(tables)
    for _ in range(depth):
        next_frontier: list[str] = []
        latest = store.latest_writers(frontier)  # one query per level, not one per table
        for table in frontier:
            run_id = writers[table] = latest[table]
            if run_id is None:
                continue
            for edge in store.edges(run_id=run_id):
                if edge.target.table != table:
                    continue
                if edge.description and edge.description.startswith(CONSTRAINT_PREFIX):
                    predicate = edge.description[len(CONSTRAINT_PREFIX) :]
                    constraints.setdefault(table, []).append(RowConstraint(edge.source, predicate))
                    continue
                edges.append(edge)
                source = edge.source.table
                if source not in seen and len(seen) < MAX_TABLES:
                    seen.add(source)
                    next_frontier.append(source)
        if not next_frontier:
            break
        frontier = next_frontier
    all_tags = store.tags_for(seen)
    tags = tuple(
        t
        for t in all_tags
        if t.source is not TagSource.PROPAGATED or (t.run_id and t.run_id == writers.get(t.column.table))
    )
    unwritten = tuple(sorted(t for t, w in writers.items() if w is None))
    return CurrentLineage(tuple(dict.fromkeys(edges)), tags, constraints, tuple(sorted(seen)), unwritten)
