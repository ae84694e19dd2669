"""A synthetic warehouse lineage of a given size, for the UI benchmark.

Layered like a real warehouse (sources, staging, marts): each table draws its columns from
two or three tables of earlier layers, with the mix of edge kinds SQL lineage yields.
Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from purpose_lineage.core.model import ColumnRef, Edge, Hop, Subtype, Tag, TagSource, Violation
from purpose_lineage.store.base import DatasetInfo, GraphSnapshot, Verdict

PURPOSES = (
    "essential.service.security",
    "marketing.advertising.first_party",
    "analytics.reporting",
    "functional.service.improve",
)
CATEGORIES = ("user.contact.phone_number", "user.contact.email", "user.device.ip_address", "user.name")
DIRECT = (Subtype.IDENTITY, Subtype.IDENTITY, Subtype.TRANSFORMATION, Subtype.AGGREGATION)
INDIRECT = (Subtype.JOIN, Subtype.FILTER, Subtype.GROUP_BY, Subtype.SORT, Subtype.WINDOW, Subtype.CONDITIONAL)


def synthetic(
    columns: int = 5000, edges: int = 20000, *, per_table: int = 10, seed: int = 7
) -> GraphSnapshot:
    """A snapshot with ``columns`` columns in tables of ``per_table`` and exactly ``edges`` edges."""
    rnd = random.Random(seed)
    n_tables = max(2, columns // per_table)
    layers = max(2, round(n_tables**0.5))
    tables = [f"l{(i * layers) // n_tables:02d}.t{i:04d}" for i in range(n_tables)]
    layer_of = {t: int(t[1:3]) for t in tables}
    cols = {t: [f"c{j:02d}" for j in range(per_table)] for t in tables}
    datasets = tuple(DatasetInfo(t, tuple(cols[t])) for t in tables)
    by_layer: dict[int, list[str]] = {}
    for t in tables:
        by_layer.setdefault(layer_of[t], []).append(t)

    out: dict[tuple, Edge] = {}
    targets = [t for t in tables if layer_of[t] > 0]
    feeds = {t: _feeders(rnd, t, layer_of, by_layer) for t in targets}
    while len(out) < edges:
        t = rnd.choice(targets)
        src_table = rnd.choice(feeds[t])
        source = ColumnRef(src_table, rnd.choice(cols[src_table]))
        if rnd.random() < 0.7:
            subtype = rnd.choice(DIRECT)
            target = ColumnRef(t, rnd.choice(cols[t]))
            masking = subtype is Subtype.TRANSFORMATION and rnd.random() < 0.4
        else:
            subtype = rnd.choice(INDIRECT)
            target = ColumnRef(t, None if rnd.random() < 0.6 else rnd.choice(cols[t]))
            masking = False
        out.setdefault((source, target, subtype), Edge(source, target, subtype, masking))

    tags = tuple(
        Tag(ColumnRef(t, c), rnd.choice(CATEGORIES), rnd.choice(PURPOSES), TagSource.DECLARED)
        for t in by_layer[0]
        for c in cols[t]
        if rnd.random() < 0.3
    )
    path = list(_a_path(out.values(), tags))
    verdicts = ()
    if path:
        first, last = path[0], path[-1]
        hops = [Hop(first.source.table, first.source.column)]
        hops += [Hop(e.target.table, e.target.column, f"{e.kind.value}/{e.subtype.value}") for e in path]
        tag = next(tg for tg in tags if tg.column == first.source)
        violation = Violation(
            "bench",
            last.target.table,
            last.target.column,
            first.source.table,
            first.source.column,
            tag.purpose,
            tag.category,
            tuple(hops),
        )
        verdicts = (
            Verdict.from_violations(
                [violation], run_id="bench/r1/guard", dag_id="bench", task_id="guard", sink=last.target.table
            ),
        )
    return GraphSnapshot(datasets=datasets, edges=tuple(out.values()), tags=tags, verdicts=verdicts)


def _feeders(
    rnd: random.Random, table: str, layer_of: dict[str, int], by_layer: dict[int, list[str]]
) -> list[str]:
    layer = layer_of[table]
    picks = []
    for _ in range(rnd.choice((2, 2, 3))):
        src_layer = layer - 1 if rnd.random() < 0.8 else rnd.randrange(0, layer)
        picks.append(rnd.choice(by_layer[src_layer]))
    return picks


def _a_path(edges, tags) -> Iterator[Edge]:
    """The longest column path (up to 8 edges) from a tagged source column, found depth-first."""
    out: dict[ColumnRef, list[Edge]] = {}
    for e in edges:
        if e.target.column is not None:
            out.setdefault(e.source, []).append(e)
    best: list[Edge] = []

    def walk(node: ColumnRef, path: list[Edge], budget: list[int]) -> None:
        nonlocal best
        budget[0] -= 1
        if len(path) > len(best):
            best = list(path)
        if len(path) == 8 or budget[0] <= 0:
            return
        for edge in sorted(out.get(node, ())):
            walk(edge.target, [*path, edge], budget)

    for source in sorted({t.column for t in tags if t.column in out}):
        walk(source, [], [2000])
        if len(best) >= 6:
            break
    yield from best
