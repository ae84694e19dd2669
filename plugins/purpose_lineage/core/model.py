"""The shared vocabulary: column references, lineage edges, tags and violations.

Every layer speaks these frozen dataclasses. Table names are normalised once, by
:func:`normalize_table` (lower case, quotes dropped), so that ``"Users_2FA"`` and
``users_2fa`` are the same node everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class EdgeKind(StrEnum):
    """OpenLineage transformation ``type``."""

    DIRECT = "DIRECT"
    INDIRECT = "INDIRECT"


class Subtype(StrEnum):
    """OpenLineage transformation ``subtype`` (ColumnLineageDatasetFacet 1-2-0)."""

    IDENTITY = "IDENTITY"
    TRANSFORMATION = "TRANSFORMATION"
    AGGREGATION = "AGGREGATION"
    JOIN = "JOIN"
    FILTER = "FILTER"
    GROUP_BY = "GROUP_BY"
    SORT = "SORT"
    WINDOW = "WINDOW"
    CONDITIONAL = "CONDITIONAL"

    @property
    def kind(self) -> EdgeKind:
        direct = (Subtype.IDENTITY, Subtype.TRANSFORMATION, Subtype.AGGREGATION)
        return EdgeKind.DIRECT if self in direct else EdgeKind.INDIRECT

    @property
    def policy_name(self) -> str:
        """The edge kind as policies spell it: ``direct``, ``aggregation``, ``join``, ``filter`` ..."""
        if self in (Subtype.IDENTITY, Subtype.TRANSFORMATION):
            return "direct"
        return self.value.lower()


class TagSource(StrEnum):
    """Where a purpose tag came from."""

    DECLARED = "declared"
    DETECTED = "detected"
    PROPAGATED = "propagated"


def normalize_table(name: str) -> str:
    """Canonical table name: parts lower-cased, quotes stripped.

    >>> normalize_table('"Main"."Users_2FA"')
    'main.users_2fa'
    """
    parts = [p.strip().strip('"`[]').lower() for p in name.split(".")]
    return ".".join(p for p in parts if p)


@dataclass(frozen=True, order=True)
class ColumnRef:
    """A column of a table. ``column`` is ``None`` for the dataset as a whole."""

    table: str
    column: str | None

    def __str__(self) -> str:
        return f"{self.table}.{self.column}" if self.column is not None else self.table


@dataclass(frozen=True, order=True)
class Edge:
    """One column-level lineage edge, ``source`` feeding ``target``.

    A ``target`` whose column is ``None`` is a dataset-wide edge: the source
    constrains which rows reach the table (OpenLineage's ``dataset`` list).
    """

    source: ColumnRef
    target: ColumnRef
    subtype: Subtype
    masking: bool = False
    description: str | None = None

    @property
    def kind(self) -> EdgeKind:
        return self.subtype.kind


@dataclass(frozen=True)
class Unknown:
    """Something the analyser could not resolve. Callers decide whether to fail closed."""

    reason: str
    table: str | None = None
    column: str | None = None
    statement: int | None = None
    line: int | None = None
    inputs: tuple[str, ...] = ()  # tables the unresolved part may read (the statement's inputs)


@dataclass(frozen=True)
class RowConstraint:
    """A predicate that every row reaching the output satisfies.

    Only AND-ed conditions of WHERE, inner-join ON and HAVING count: a condition
    under OR or NOT, or on the nullable side of an outer join, constrains nothing.
    ``predicate`` is the condition as SQL, rewritten over ``column``'s base table.
    """

    column: ColumnRef
    predicate: str


@dataclass(frozen=True)
class StatementLineage:
    """Lineage of one SQL statement."""

    index: int
    sql: str
    output: str | None
    inputs: tuple[str, ...] = ()
    edges: tuple[Edge, ...] = ()
    unknowns: tuple[Unknown, ...] = ()
    constraints: tuple[RowConstraint, ...] = ()
    line: int = 1
    columns: tuple[str, ...] = ()  # output columns in order (the written ones for UPDATE/MERGE)


@dataclass(frozen=True)
class Tag:
    """A purpose tag on a column: what it is (category) and what it was collected for (purpose)."""

    column: ColumnRef
    category: str
    purpose: str
    source: TagSource = TagSource.DECLARED
    origin: ColumnRef | None = None
    run_id: str | None = None
    path: tuple[Hop, ...] = field(default=(), compare=False)  # propagated tags: origin -> column


@dataclass(frozen=True)
class Hop:
    """One step of a violating path: the column reached and the edge that reached it."""

    table: str
    column: str | None
    edge: str | None = None  # "DIRECT/IDENTITY", "INDIRECT/JOIN", ... ; None for the source
    masked: bool = False  # the edge hashed or encoded the value (the purpose is kept)

    def __str__(self) -> str:
        return f"{self.table}.{self.column}" if self.column is not None else self.table


@dataclass(frozen=True)
class Violation:
    """A forbidden flow from a tagged source column into a sink."""

    rule: str
    sink: str
    sink_column: str | None
    source: str
    source_column: str | None
    purpose: str
    category: str
    path: tuple[Hop, ...] = field(default_factory=tuple)

    @property
    def edge_kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h.edge for h in self.path if h.edge))
