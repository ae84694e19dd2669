"""Benchmark: policy loading, purpose propagation and violation search.

Runs in every guarded task, so it must stay in the low milliseconds for a few hundred edges.
Ratios are against baselines measured in the same run:

* ``naive``: a fixed-point propagation that rescans every edge until nothing changes, the
  obvious implementation without adjacency lists;
* ``parse``: sqlglot parsing one small SQL statement, the unit of work a task already pays.

Usage: .venv/bin/python benchmarks/policy.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))

from purpose_lineage.core.evaluate import find_violations  # noqa: E402
from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag  # noqa: E402
from purpose_lineage.core.policy import load_policy  # noqa: E402
from purpose_lineage.core.propagate import propagate  # noqa: E402

SUBTYPES = [Subtype.IDENTITY, Subtype.TRANSFORMATION, Subtype.JOIN, Subtype.FILTER, Subtype.AGGREGATION]


def pipeline(n_edges: int, seed: int = 7) -> tuple[list[Tag], list[Edge]]:
    """Layers of tables, each statement reading 1-3 earlier tables; a few ad sinks at the end; cycles."""
    rng = random.Random(seed)
    n_tables = max(10, n_edges // 4)
    names = [f"s{i}" for i in range(n_tables - 4)] + [f"ad_audience_{i}" for i in range(3)] + ["phone_lookup"]
    edges: list[Edge] = []
    while len(edges) < n_edges:
        t = rng.randrange(1, n_tables)
        for _ in range(rng.randint(1, 3)):
            s = rng.randrange(0, t) if rng.random() > 0.05 else rng.randrange(t, n_tables)  # 5% back edges
            sub = rng.choice(SUBTYPES)
            target_col = (
                None
                if sub in (Subtype.JOIN, Subtype.FILTER) and rng.random() < 0.5
                else f"c{rng.randrange(4)}"
            )
            edges.append(
                Edge(
                    ColumnRef(names[s], f"c{rng.randrange(4)}"),
                    ColumnRef(names[t], target_col),
                    sub,
                    masking=sub is Subtype.TRANSFORMATION and rng.random() < 0.3,
                    description="count(x)" if sub is Subtype.AGGREGATION else None,
                )
            )
    tags = [
        Tag(ColumnRef(names[i], "c0"), "user.contact.phone_number", "essential.service.security")
        for i in range(0, min(20, n_tables // 3), 2)
    ]
    return tags, edges[:n_edges]


def naive_propagate(tags: list[Tag], edges: list[Edge]) -> set[tuple[ColumnRef, ColumnRef]]:
    reached = {(t.column, t.column) for t in tags}
    changed = True
    while changed:
        changed = False
        for e in edges:
            for node, origin in list(reached):
                if node == e.source and (e.target, origin) not in reached:
                    reached.add((e.target, origin))
                    changed = True
    return reached


def timed(fn, reps: int) -> float:
    """Median seconds per call."""
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repetitions (<60 s)")
    args = parser.parse_args()
    reps = 5 if args.quick else 30
    sizes = [100, 300, 1000] if args.quick else [100, 300, 1000, 3000, 10000]

    import sqlglot

    policy = load_policy()
    t_load = timed(load_policy, reps)
    t_parse = timed(
        lambda: sqlglot.parse_one("SELECT a.user_id FROM a JOIN b ON a.k = b.k WHERE b.x = 1"), reps
    )
    print(
        f"load_policy (default): {t_load * 1e3:.2f} ms   sqlglot.parse_one (1 stmt): {t_parse * 1e3:.2f} ms"
    )
    print(
        f"{'edges':>6} {'tags':>5} {'violations':>10} {'find ms':>9} {'propagate ms':>13} "
        f"{'naive ms':>9} {'naive/find':>10} {'find/parse':>10}"
    )
    for n in sizes:
        tags, edges = pipeline(n)
        violations = find_violations(tags, edges, policy)
        t_find = timed(lambda: find_violations(tags, edges, policy), reps)  # noqa: B023
        t_prop = timed(lambda: propagate(tags, edges, policy), reps)  # noqa: B023
        if n <= 1000:
            t_naive = timed(lambda: naive_propagate(tags, edges), max(1, reps // 5))  # noqa: B023
            naive = f"{t_naive * 1e3:9.1f} {t_naive / t_find:10.1f}"
        else:
            naive = f"{'-':>9} {'-':>10}"
        print(
            f"{n:>6} {len(tags):>5} {len(violations):>10} {t_find * 1e3:9.2f} {t_prop * 1e3:13.2f} "
            f"{naive} {t_find / t_parse:10.2f}"
        )


if __name__ == "__main__":
    main()
