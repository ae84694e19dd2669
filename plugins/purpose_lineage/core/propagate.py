"""Carry purpose tags along lineage edges to every column they reach.

The graph is a plain dict of adjacency lists, walked breadth-first, so each reached
column gets a shortest path back to its origin. Edges may come from many statements and
DAGs; cycles are fine (each node is visited once per walk).

Two things make a node's reach wider than its own out-edges:

* an edge into a dataset-wide target ``ColumnRef(table, None)`` (a join key or filter
  chose the rows of ``table``) reaches that node and every known column of ``table``, as
  OpenLineage's dataset-level transformations apply to all output fields;
* an :class:`Unknown` placed at ``table`` (lineage there is unresolved) is a wildcard arc
  from every column of its input tables into it, labelled ``UNKNOWN`` (fail closed).

Masking (hashing, encoding) never ends a purpose; aggregates end it only where the policy
declares them safe (:meth:`Rule.counts`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from purpose_lineage.core.model import ColumnRef, Edge, Hop, Tag, TagSource, Unknown, normalize_table

if TYPE_CHECKING:
    from purpose_lineage.core.policy import Policy

UNKNOWN_EDGE = "UNKNOWN"

EdgeFilter = Callable[[Edge], bool]


def node(table: str, column: str | None) -> ColumnRef:
    """The canonical graph node: table normalised, column lower-cased.

    >>> node('"Main"."Users_2FA"', "Phone_Number")
    ColumnRef(table='main.users_2fa', column='phone_number')
    """
    return ColumnRef(normalize_table(table), column.lower() if column is not None else None)


def _norm(ref: ColumnRef) -> ColumnRef:
    return node(ref.table, ref.column)


@dataclass
class Graph:
    """Adjacency lists over lineage edges, built once and walked many times.

    >>> from purpose_lineage.core.model import Subtype
    >>> e = Edge(ColumnRef("a", "x"), ColumnRef("b", "y"), Subtype.IDENTITY)
    >>> g = Graph.build([e, Edge(ColumnRef("b", "y"), ColumnRef("a", "x"), Subtype.IDENTITY)])
    >>> sorted(str(n) for n in g.reach(ColumnRef("a", "x")))
    ['a.x', 'b.y']
    """

    by_node: dict[ColumnRef, list[Edge]] = field(default_factory=dict)
    columns: dict[str, list[ColumnRef]] = field(default_factory=dict)
    wild: dict[str, list[tuple[ColumnRef, Unknown]]] = field(default_factory=dict)

    @classmethod
    def build(cls, edges: Iterable[Edge], unknowns: Iterable[Unknown] = ()) -> Graph:
        graph = cls()
        upstream: dict[str, set[str]] = {}
        columns: dict[str, set[ColumnRef]] = {}
        for raw in edges:
            edge = Edge(_norm(raw.source), _norm(raw.target), raw.subtype, raw.masking, raw.description)
            graph.by_node.setdefault(edge.source, []).append(edge)
            upstream.setdefault(edge.target.table, set()).add(edge.source.table)
            for ref in (edge.source, edge.target):
                if ref.column is not None:
                    columns.setdefault(ref.table, set()).add(ref)
        graph.columns = {t: sorted(refs, key=ref_key) for t, refs in columns.items()}
        for unknown in unknowns:
            if unknown.table is None:
                continue  # not placed: see evaluate.place_unknowns
            target = node(unknown.table, unknown.column)
            sources = {normalize_table(t) for t in unknown.inputs} or upstream.get(target.table, set())
            for table in sources - {target.table}:
                graph.wild.setdefault(table, []).append((target, unknown))
        return graph

    def arcs(self, at: ColumnRef, counts: EdgeFilter, with_unknowns: bool) -> Iterable[tuple[ColumnRef, Hop]]:
        """Nodes one step from ``at`` with the hop that reaches them."""
        for edge in self.by_node.get(at, ()):
            if counts(edge):
                yield from self._into(edge.target, f"{edge.kind.value}/{edge.subtype.value}", edge.masking)
        if with_unknowns:
            for target, _ in self.wild.get(at.table, ()):
                yield from self._into(target, UNKNOWN_EDGE, False)

    def _into(self, target: ColumnRef, kind: str, masked: bool) -> Iterable[tuple[ColumnRef, Hop]]:
        yield target, Hop(target.table, target.column, kind, masked)
        if target.column is None:
            for col in self.columns.get(target.table, ()):
                yield col, Hop(col.table, col.column, kind, masked)

    def reach(
        self, start: ColumnRef, counts: EdgeFilter = lambda e: True, *, with_unknowns: bool = True
    ) -> dict[ColumnRef, tuple[Hop, ...]]:
        """Every node reachable from ``start`` (itself included), in BFS order, with its shortest path."""
        start = _norm(start)
        parents: dict[ColumnRef, tuple[ColumnRef, Hop] | None] = {start: None}
        queue = deque([start])
        while queue:
            at = queue.popleft()
            for target, hop in self.arcs(at, counts, with_unknowns):
                if target not in parents:
                    parents[target] = (at, hop)
                    queue.append(target)
        return {n: _path(n, parents) for n in parents}


def _path(end: ColumnRef, parents: dict[ColumnRef, tuple[ColumnRef, Hop] | None]) -> tuple[Hop, ...]:
    hops: list[Hop] = []
    at: ColumnRef | None = end
    while at is not None:
        step = parents[at]
        if step is None:
            hops.append(Hop(at.table, at.column))
            at = None
        else:
            hops.append(step[1])
            at = step[0]
    return tuple(reversed(hops))


def seeds(tags: Iterable[Tag]) -> list[Tag]:
    """Declared and detected tags, normalised and de-duplicated; propagated ones are dropped
    because they are recomputed (this makes :func:`propagate` idempotent)."""
    out: dict[tuple, Tag] = {}
    for tag in tags:
        if tag.source is TagSource.PROPAGATED:
            continue
        col = _norm(tag.column)
        out.setdefault(
            (col, tag.category, tag.purpose),
            Tag(col, tag.category, tag.purpose, tag.source, run_id=tag.run_id),
        )
    return list(out.values())


def propagate(
    tags: Iterable[Tag],
    edges: Iterable[Edge] | Graph,
    policy: Policy | None = None,
    *,
    unknowns: Iterable[Unknown] = (),
) -> list[Tag]:
    """The seed tags plus one PROPAGATED tag per reached ``(column, category, purpose, origin)``.

    An edge carries a purpose when some rule of ``policy`` counts it (every edge when
    ``policy`` is None). A column fed by several tagged upstreams gets one tag for each,
    each with its own ``origin`` and ``path``.

    >>> from purpose_lineage.core.model import Subtype
    >>> phone = ColumnRef("users_2fa", "phone_number")
    >>> h = Edge(phone, ColumnRef("hashes", "phone_sha"), Subtype.TRANSFORMATION, masking=True)
    >>> out = propagate([Tag(phone, "user.contact.phone_number", "essential.service.security")], [h])
    >>> [(str(t.column), t.source.value, str(t.origin)) for t in out]  # doctest: +NORMALIZE_WHITESPACE
    [('users_2fa.phone_number', 'declared', 'None'),
     ('hashes.phone_sha', 'propagated', 'users_2fa.phone_number')]
    """
    graph = edges if isinstance(edges, Graph) else Graph.build(edges, unknowns)
    counts: EdgeFilter = policy.counts if policy is not None else (lambda e: True)
    base = seeds(tags)
    reached: dict[ColumnRef, dict[ColumnRef, tuple[Hop, ...]]] = {}
    out: dict[tuple, Tag] = {}
    for tag in base:
        if tag.column not in reached:
            reached[tag.column] = graph.reach(tag.column, counts)
        for target, path in reached[tag.column].items():
            if target == tag.column:
                continue
            key = (target, tag.category, tag.purpose, tag.column)
            if key not in out:
                out[key] = Tag(
                    target, tag.category, tag.purpose, TagSource.PROPAGATED, tag.column, tag.run_id, path
                )
    return base + sorted(
        out.values(), key=lambda t: (ref_key(t.column), t.category, t.purpose, ref_key(t.origin))
    )


def ref_key(ref: ColumnRef | None) -> tuple[str, int, str]:
    """A sort key for column refs that tolerates dataset-wide (``None``) columns."""
    if ref is None:
        return ("", 0, "")
    return (ref.table, ref.column is not None, ref.column or "")
