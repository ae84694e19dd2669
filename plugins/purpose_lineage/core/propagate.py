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

import functools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from purpose_lineage.core.model import ColumnRef, Edge, Hop, Subtype, Tag, TagSource, Unknown, normalize_table

if TYPE_CHECKING:
    from purpose_lineage.core.policy import Policy

UNKNOWN_EDGE = "UNKNOWN"

#: Decides from an edge's policy kind (``direct``, ``join`` ...) and aggregate function
#: (``count`` or None) whether it carries a purpose; see :meth:`Rule.counts_kind`.
ArcFilter = Callable[[str, "str | None"], bool]

Node = tuple[str, "str | None"]  # (table, column): plain tuples hash much faster than ColumnRef
_Arc = tuple[Node, str, bool, str, "str | None"]  # target, "KIND/SUBTYPE", masked, policy kind, aggregate


def _count_all(kind: str, aggregate: str | None) -> bool:
    return True


@functools.lru_cache(maxsize=65536)
def _table(name: str) -> str:
    return normalize_table(name)


def node(table: str, column: str | None) -> ColumnRef:
    """The canonical graph node: table normalised, column lower-cased.

    >>> node('"Main"."Users_2FA"', "Phone_Number")
    ColumnRef(table='main.users_2fa', column='phone_number')
    """
    return ColumnRef(*_key(ColumnRef(table, column)))


def _key(ref: ColumnRef) -> Node:
    return (_table(ref.table), ref.column.lower() if ref.column is not None else None)


def _norm(ref: ColumnRef) -> ColumnRef:
    return ColumnRef(*_key(ref))


@dataclass
class Walk:
    """The result of one breadth-first walk: each reached node's parent and hop, in BFS order."""

    parents: dict[Node, tuple[Node, str, bool] | None]

    def nodes(self) -> Iterable[Node]:
        return self.parents.keys()

    def path(self, end: Node) -> tuple[Hop, ...]:
        hops: list[Hop] = []
        at: Node | None = end
        while at is not None:
            step = self.parents[at]
            if step is None:
                hops.append(Hop(at[0], at[1]))
                at = None
            else:
                hops.append(Hop(at[0], at[1], step[1], step[2]))
                at = step[0]
        return tuple(reversed(hops))

    def paths(self) -> dict[ColumnRef, tuple[Hop, ...]]:
        """Every reached node with its path, built incrementally in BFS order."""
        out: dict[Node, tuple[Hop, ...]] = {}
        for at, step in self.parents.items():
            if step is None:
                out[at] = (Hop(at[0], at[1]),)
            else:
                out[at] = out[step[0]] + (Hop(at[0], at[1], step[1], step[2]),)
        return {ColumnRef(*n): p for n, p in out.items()}


@dataclass
class Graph:
    """Adjacency lists over lineage edges, built once and walked many times.

    >>> from purpose_lineage.core.model import Subtype
    >>> e = Edge(ColumnRef("a", "x"), ColumnRef("b", "y"), Subtype.IDENTITY)
    >>> g = Graph.build([e, Edge(ColumnRef("b", "y"), ColumnRef("a", "x"), Subtype.IDENTITY)])
    >>> sorted(str(n) for n in g.reach(ColumnRef("a", "x")))
    ['a.x', 'b.y']
    """

    arcs_from: dict[Node, list[_Arc]] = field(default_factory=dict)
    columns: dict[str, list[Node]] = field(default_factory=dict)
    wild: dict[str, list[Node]] = field(default_factory=dict)

    @classmethod
    def build(cls, edges: Iterable[Edge], unknowns: Iterable[Unknown] = ()) -> Graph:
        from purpose_lineage.core.policy import aggregate_function

        graph = cls()
        upstream: dict[str, set[str]] = {}
        columns: dict[str, set[Node]] = {}
        labels = {s: (f"{s.kind.value}/{s.value}", s.policy_name) for s in Subtype}
        for edge in edges:
            src, dst = _key(edge.source), _key(edge.target)
            label, kind = labels[edge.subtype]
            arc = (dst, label, edge.masking, kind, aggregate_function(edge))
            graph.arcs_from.setdefault(src, []).append(arc)
            upstream.setdefault(dst[0], set()).add(src[0])
            for ref in (src, dst):
                if ref[1] is not None:
                    columns.setdefault(ref[0], set()).add(ref)
        graph.columns = {t: sorted(refs, key=lambda n: n[1] or "") for t, refs in columns.items()}
        for unknown in unknowns:
            if unknown.table is None:
                continue  # not placed: see evaluate.place_unknowns
            target = _key(ColumnRef(unknown.table, unknown.column))
            sources = {_table(t) for t in unknown.inputs} or upstream.get(target[0], set())
            for table in sources - {target[0]}:
                graph.wild.setdefault(table, []).append(target)
        return graph

    def walk(self, start: ColumnRef, counts: ArcFilter = _count_all, *, with_unknowns: bool = True) -> Walk:
        """Breadth-first from ``start`` over the arcs ``counts`` admits (and unknowns' wildcards).

        An arc into a dataset-wide target ``(table, None)`` reaches that node and then every
        known column of ``table``; a dataset-wide ``start`` starts from every known column too.
        """
        first = _key(start)
        columns, wild, arcs_from = self.columns, self.wild, self.arcs_from
        # a dataset-wide start (a whole table tagged) starts from each of its columns too
        roots = [first] + (columns.get(first[0], []) if first[1] is None else [])
        parents: dict[Node, tuple[Node, str, bool] | None] = dict.fromkeys(roots)
        queue = deque(roots)
        while queue:
            at = queue.popleft()
            out: list[tuple[Node, str, bool]] = [
                (dst, label, masked)
                for dst, label, masked, kind, agg in arcs_from.get(at, ())
                if counts(kind, agg)
            ]
            if with_unknowns and at[0] in wild:
                out += [(dst, UNKNOWN_EDGE, False) for dst in wild[at[0]]]
            for dst, label, masked in out:
                if dst not in parents:
                    parents[dst] = (at, label, masked)
                    queue.append(dst)
                if dst[1] is None:
                    for col in columns.get(dst[0], ()):
                        if col not in parents:
                            parents[col] = (at, label, masked)
                            queue.append(col)
        return Walk(parents)

    def reach(
        self, start: ColumnRef, counts: ArcFilter = _count_all, *, with_unknowns: bool = True
    ) -> dict[ColumnRef, tuple[Hop, ...]]:
        """Every node reachable from ``start`` (itself included), in BFS order, with its shortest path."""
        return self.walk(start, counts, with_unknowns=with_unknowns).paths()


def seeds(tags: Iterable[Tag]) -> list[Tag]:
    """Declared and detected tags, normalised and de-duplicated; propagated ones are dropped
    because they are recomputed (this makes :func:`propagate` idempotent).

    >>> declared = Tag(ColumnRef("Users_2FA", "Phone"), "user.contact.phone_number", "essential.service")
    >>> [str(t.column) for t in seeds([declared, declared])]
    ['users_2fa.phone']
    """
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
    counts: ArcFilter = policy.counts_kind if policy is not None else _count_all
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
    """A sort key for column refs that tolerates dataset-wide (``None``) columns.

    >>> sorted([ColumnRef("t", "b"), ColumnRef("t", None)], key=ref_key)
    [ColumnRef(table='t', column=None), ColumnRef(table='t', column='b')]
    """
    if ref is None:
        return ("", 0, "")
    return (ref.table, ref.column is not None, ref.column or "")
