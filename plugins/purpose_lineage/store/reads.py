"""Read queries shared by both backends (same SQL, ``?`` placeholders, id lists as arrays)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource
from purpose_lineage.store.apply import Conn
from purpose_lineage.store.base import Assertion, DatasetInfo, RunRecord, Verdict, as_utc
from purpose_lineage.store.batch import ROWS, normalize_column
from purpose_lineage.store.paths import IdGraph

EDGE_COLS = "e.source_id, e.target_id, e.subtype, e.masking, e.description"

EDGE_NAMES = (
    "SELECT sd.name, sc.name, td.name, tc.name, e.subtype, e.masking, e.description FROM pl_edges e "
    "JOIN pl_columns sc ON sc.id = e.source_id JOIN pl_datasets sd ON sd.id = sc.dataset_id "
    "JOIN pl_columns tc ON tc.id = e.target_id JOIN pl_datasets td ON td.id = tc.dataset_id"
)

TAG_NAMES = (
    "SELECT d.name, c.name, t.category, t.purpose, t.source, od.name, oc.name, t.run_id FROM pl_tags t "
    "JOIN pl_columns c ON c.id = t.column_id JOIN pl_datasets d ON d.id = c.dataset_id "
    "LEFT JOIN pl_columns oc ON oc.id = t.origin_id LEFT JOIN pl_datasets od ON od.id = oc.dataset_id"
)

# one BFS level: edges into the frontier (and into the row sets of the frontier's tables)
UP_LEVEL = (
    "WITH f AS (SELECT unnest(?::BIGINT[]) AS id), "
    "t AS (SELECT id FROM f UNION SELECT r.id FROM f JOIN pl_columns c ON c.id = f.id "
    "JOIN pl_columns r ON r.dataset_id = c.dataset_id AND r.name = '') "
    f"SELECT {EDGE_COLS} FROM pl_edges e JOIN t ON e.target_id = t.id"
)
# edges out of the frontier (a row set leaves through every column of its table)
DOWN_LEVEL = (
    "WITH f AS (SELECT unnest(?::BIGINT[]) AS id), "
    "s AS (SELECT id FROM f UNION SELECT c.id FROM f JOIN pl_columns r ON r.id = f.id AND r.name = '' "
    "JOIN pl_columns c ON c.dataset_id = r.dataset_id) "
    f"SELECT {EDGE_COLS} FROM pl_edges e JOIN s ON e.source_id = s.id"
)

RUN_COLS = "r.run_id, r.job_namespace, r.job_name, r.dag_id, r.task_id, r.state, r.started_at, r.ended_at"

IdEdge = tuple[int, int, str, bool, str | None]


def ref(table: str, column: str) -> ColumnRef:
    return ColumnRef(table, None if column == ROWS else column)


def edge(row: Sequence) -> Edge:
    st, sc, tt, tc, sub, masking, desc = row
    return Edge(ref(st, sc), ref(tt, tc), Subtype(sub), bool(masking), desc)


def tag(row: Sequence) -> Tag:
    t, c, category, purpose, source, ot, oc, run_id = row
    return Tag(
        ref(t, c), category, purpose, TagSource(source), ref(ot, oc) if ot is not None else None, run_id
    )


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def column_ids(c: Conn, target: ColumnRef) -> list[int]:
    """Ids of a column, or of every column (and the row set) of a table."""
    if target.column is None:
        rows = c.q(
            "SELECT c.id FROM pl_columns c JOIN pl_datasets d ON d.id = c.dataset_id WHERE d.name = ?",
            [target.table],
        )
    else:
        rows = c.q(
            "SELECT c.id FROM pl_columns c JOIN pl_datasets d ON d.id = c.dataset_id "
            "WHERE d.name = ? AND c.name = ?",
            [target.table, normalize_column(target.column)],
        )
    return [int(r[0]) for r in rows]


def names(c: Conn, ids: Iterable[int]) -> dict[int, ColumnRef]:
    rows = c.q(
        "SELECT c.id, d.name, c.name FROM pl_columns c JOIN pl_datasets d ON d.id = c.dataset_id "
        "WHERE c.id IN (SELECT unnest(?::BIGINT[]))",
        [sorted(set(ids))],
    )
    return {int(i): ref(t, col) for i, t, col in rows}


def to_edges(c: Conn, id_edges: Iterable[IdEdge]) -> list[Edge]:
    id_edges = list(id_edges)
    refs = names(c, [n for e in id_edges for n in e[:2]])
    return sorted({Edge(refs[s], refs[t], Subtype(sub), bool(m), d) for s, t, sub, m, d in id_edges})


def closure(c: Conn, start: list[int], depth: int, *, up: bool) -> list[IdEdge]:
    """Level-by-level BFS, one query per level; returns the edges met within ``depth`` hops."""
    seen = set(start)
    frontier = sorted(seen)
    found: dict[tuple, IdEdge] = {}
    for _ in range(depth):
        if not frontier:
            break
        nxt = []
        for s, t, sub, m, d in c.q(UP_LEVEL if up else DOWN_LEVEL, [frontier]):
            s, t = int(s), int(t)
            found[(s, t, sub)] = (s, t, sub, bool(m), d)
            n = s if up else t
            if n not in seen:
                seen.add(n)
                nxt.append(n)
        frontier = nxt
    return list(found.values())


def dataset_levels(c: Conn, start: Iterable[int], depth: int, *, up: bool, within: set[int] | None = None):
    """Table-level BFS over ``pl_dataset_edges``: {dataset id: fewest hops from ``start``}."""
    dist = {d: 0 for d in start}
    frontier = sorted(dist)
    sql = (
        "SELECT DISTINCT source_dataset_id FROM pl_dataset_edges WHERE target_dataset_id IN "
        "(SELECT unnest(?::BIGINT[]))"
        if up
        else "SELECT DISTINCT target_dataset_id FROM pl_dataset_edges WHERE source_dataset_id IN "
        "(SELECT unnest(?::BIGINT[]))"
    )
    for level in range(1, depth + 1):
        if not frontier:
            break
        nxt = []
        for (d,) in c.q(sql, [frontier]):
            d = int(d)
            if d not in dist and (within is None or d in within):
                dist[d] = level
                nxt.append(d)
        frontier = nxt
    return dist


def purpose_match(value: str, wanted: Iterable[str] | None) -> bool:
    """``value`` equals or descends from one of ``wanted`` (fideslang keys are dotted paths).

    >>> purpose_match("essential.service.security", ["essential.service"]), purpose_match("essential", ["e"])
    (True, False)
    """
    if wanted is None:
        return True
    return any(value == w or value.startswith(w + ".") for w in wanted)


def paths_into(
    c: Conn,
    sink: str,
    *,
    sources: list[ColumnRef] | None,
    accept: Callable[[Tag], bool],
    tag_sources: set[str],
    depth: int,
    max_paths: int,
) -> list[list[Edge]]:
    """The guard's question; see :meth:`LineageStore.paths_into`.

    Plan: table-level ancestors of the sink (small graph) -> candidate source columns in them
    -> tables lying between candidates and sink within ``depth`` -> one query for the column
    edges among those tables -> exhaustive simple-path search in memory.
    """
    got = c.q("SELECT id FROM pl_datasets WHERE name = ?", [sink])
    if not got:
        return []
    sink_ds = int(got[0][0])
    anc = dataset_levels(c, [sink_ds], depth, up=True)
    if sources is not None:
        start: set[int] = set()
        for s in sources:
            start.update(column_ids(c, s))
    else:
        ids = c.q(
            "SELECT t.column_id, c.dataset_id, t.category, t.purpose, t.source FROM pl_tags t "
            "JOIN pl_columns c ON c.id = t.column_id WHERE c.dataset_id IN (SELECT unnest(?::BIGINT[]))",
            [sorted(anc)],
        )
        start = set()
        by_key = {}
        for col_id, _ds, category, purpose, source in ids:
            by_key.setdefault(int(col_id), []).append((category, purpose, source))
        if by_key:
            refs = names(c, by_key)
            for col_id, tags in by_key.items():
                for category, purpose, source in tags:
                    if source in tag_sources and accept(
                        Tag(refs[col_id], category, purpose, TagSource(source))
                    ):
                        start.add(col_id)
    if not start:
        return []
    start_ds = {
        int(d)
        for (d,) in c.q(
            "SELECT DISTINCT dataset_id FROM pl_columns WHERE id IN (SELECT unnest(?::BIGINT[]))",
            [sorted(start)],
        )
    }
    start_ds &= set(anc)
    if not start_ds:
        return []
    fwd = dataset_levels(c, start_ds, depth, up=False, within=set(anc))
    corridor = sorted(d for d, k in fwd.items() if k + anc[d] <= depth)
    cols = c.q(
        "SELECT id, dataset_id, name FROM pl_columns WHERE dataset_id IN (SELECT unnest(?::BIGINT[]))",
        [corridor],
    )
    graph: IdGraph[tuple] = IdGraph()
    for i, d, name in cols:
        graph.add_node(int(i), table=int(d), rows=name == ROWS)
    rows = c.q(
        "WITH cc AS (SELECT id FROM pl_columns WHERE dataset_id IN (SELECT unnest(?::BIGINT[]))) "
        f"SELECT {EDGE_COLS} FROM pl_edges e "
        "WHERE e.target_id IN (SELECT id FROM cc) AND e.source_id IN (SELECT id FROM cc)",
        [corridor],
    )
    for s, t, sub, m, d in rows:
        graph.add_edge(int(s), int(t), (int(s), int(t), sub, bool(m), d))
    sinks = [i for i, d in graph.table.items() if d == sink_ds]
    id_paths = graph.paths(start & set(graph.table), sinks, depth, max_paths)
    if not id_paths:
        return []
    refs = names(c, {n for p in id_paths for e in p for n in e[:2]})
    out = [[Edge(refs[s], refs[t], Subtype(sub), m, d) for s, t, sub, m, d in p] for p in id_paths]
    return sorted(out)


def runs_for(c: Conn, table: str) -> list[RunRecord]:
    rows = c.q(
        f"SELECT {RUN_COLS} FROM pl_runs r WHERE r.run_id IN (SELECT rd.run_id FROM pl_run_datasets rd "
        "JOIN pl_datasets d ON d.id = rd.dataset_id WHERE d.name = ?)",
        [table],
    )
    return _runs(c, rows)


def _runs(c: Conn, rows: list[tuple]) -> list[RunRecord]:
    io: dict[str, dict[str, list[str]]] = {}
    if rows:
        for run_id, name, role in c.q(
            "SELECT rd.run_id, d.name, rd.role FROM pl_run_datasets rd "
            "JOIN pl_datasets d ON d.id = rd.dataset_id "
            "WHERE rd.run_id IN (SELECT unnest(?::TEXT[]))",
            [[r[0] for r in rows]],
        ):
            io.setdefault(run_id, {"input": [], "output": []})[role].append(name)
    out = [
        RunRecord(
            rid,
            ns,
            job,
            dag,
            task,
            state,
            utc(started),
            utc(ended),
            tuple(sorted(io.get(rid, {}).get("input", []))),
            tuple(sorted(io.get(rid, {}).get("output", []))),
        )
        for rid, ns, job, dag, task, state, started, ended in rows
    ]
    oldest = as_utc(datetime.min)
    return sorted(out, key=lambda r: (r.ended_at or r.started_at or oldest, r.run_id), reverse=True)


def verdicts(c: Conn, *, table: str | None = None, run_id: str | None = None, dag_id: str | None = None):
    where, params = [], []
    for col, value in (("sink", table), ("run_id", run_id), ("dag_id", dag_id)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    sql = (
        "SELECT run_id, dag_id, task_id, sink, passed, violations, affected_count, checked_at "
        "FROM pl_verdicts"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    out = [
        Verdict(rid, dag, task, sink, bool(p), tuple(json.loads(v)), n, as_utc(at))
        for rid, dag, task, sink, p, v, n, at in c.q(sql, params)
    ]
    return sorted(out, key=lambda v: (v.checked_at, v.run_id, v.task_id, v.sink), reverse=True)


def datasets(c: Conn, tables: list[str] | None) -> list[DatasetInfo]:
    sql = "SELECT d.name, d.namespace, c.name FROM pl_datasets d JOIN pl_columns c ON c.dataset_id = d.id"
    params: list = []
    if tables is not None:
        sql += " WHERE d.name IN (SELECT unnest(?::TEXT[]))"
        params.append(sorted(set(tables)))
    found: dict[str, tuple[str, list[str]]] = {}
    for name, ns, col in c.q(sql, params):
        entry = found.setdefault(name, (ns, []))
        if col != ROWS:
            entry[1].append(col)
    return [DatasetInfo(n, tuple(sorted(cols)), ns) for n, (ns, cols) in sorted(found.items())]


def assertions(c: Conn, tables: list[str] | None) -> list[Assertion]:
    sql = (
        "SELECT d.name, a.assertion, a.success, a.column_name, a.severity, a.run_id "
        "FROM pl_assertions a JOIN pl_datasets d ON d.id = a.dataset_id"
    )
    params: list = []
    if tables is not None:
        sql += " WHERE d.name IN (SELECT unnest(?::TEXT[]))"
        params.append(sorted(set(tables)))
    return sorted(
        (
            Assertion(t, a, bool(s), col or None, sev, rid or None)
            for t, a, s, col, sev, rid in c.q(sql, params)
        ),
        key=lambda a: (a.table, a.column or "", a.assertion, a.run_id or ""),
    )
