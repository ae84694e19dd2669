"""Read queries shared by both backends (same SQL, ``?`` placeholders, id lists as arrays)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource
from purpose_lineage.store.apply import Conn
from purpose_lineage.store.base import (
    Assertion,
    DatasetInfo,
    RunRecord,
    Verdict,
    as_utc,
    edge_key,
    path_key,
)
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

# The closure in one statement. A step upstream from column w follows the edges into w and into
# the row set of w's table; a step downstream from a row set leaves through every column of its table.
# UNION (not ALL) and the depth bound keep cycles finite.
UP_CLOSURE = (
    "WITH RECURSIVE walk(id, d) AS ("
    " SELECT id, 0 FROM (SELECT unnest(?::BIGINT[]) AS id) s"
    " UNION"
    " SELECT e.source_id, w.d + 1 FROM walk w"
    " JOIN pl_columns c ON c.id = w.id"
    " JOIN pl_columns r ON r.dataset_id = c.dataset_id AND (r.id = c.id OR r.name = '')"
    " JOIN pl_edges e ON e.target_id = r.id"
    " WHERE w.d < ?), "
    "hit AS (SELECT DISTINCT r.id FROM walk w JOIN pl_columns c ON c.id = w.id"
    " JOIN pl_columns r ON r.dataset_id = c.dataset_id AND (r.id = c.id OR r.name = '') WHERE w.d < ?) "
    f"{EDGE_NAMES} JOIN hit ON e.target_id = hit.id"
)
DOWN_CLOSURE = (
    "WITH RECURSIVE walk(id, d) AS ("
    " SELECT id, 0 FROM (SELECT unnest(?::BIGINT[]) AS id) s"
    " UNION"
    " SELECT e.target_id, w.d + 1 FROM walk w"
    " JOIN pl_columns c ON c.id = w.id"
    " JOIN pl_columns s ON s.dataset_id = c.dataset_id AND (s.id = c.id OR c.name = '')"
    " JOIN pl_edges e ON e.source_id = s.id"
    " WHERE w.d < ?), "
    "hit AS (SELECT DISTINCT s.id FROM walk w JOIN pl_columns c ON c.id = w.id"
    " JOIN pl_columns s ON s.dataset_id = c.dataset_id AND (s.id = c.id OR c.name = '') WHERE w.d < ?) "
    f"{EDGE_NAMES} JOIN hit ON e.source_id = hit.id"
)
# table-level distances over pl_dataset_edges (small): ancestors of one table, by name
ANCESTORS = (
    "WITH RECURSIVE walk(id, d) AS ("
    " SELECT id, 0 FROM pl_datasets WHERE name = ?"
    " UNION"
    " SELECT de.source_dataset_id, w.d + 1 FROM walk w"
    " JOIN pl_dataset_edges de ON de.target_dataset_id = w.id WHERE w.d < ?) "
    "SELECT id, min(d) FROM walk GROUP BY id"
)
# descendants of some tables, staying among the given tables
DESCENDANTS = (
    "WITH RECURSIVE within(id) AS (SELECT unnest(?::BIGINT[])), "
    "walk(id, d) AS ("
    " SELECT id, 0 FROM (SELECT unnest(?::BIGINT[]) AS id) s"
    " UNION"
    " SELECT de.target_dataset_id, w.d + 1 FROM walk w"
    " JOIN pl_dataset_edges de ON de.source_dataset_id = w.id"
    " JOIN within x ON x.id = de.target_dataset_id WHERE w.d < ?) "
    "SELECT id, min(d) FROM walk GROUP BY id"
)

RUN_COLS = "r.run_id, r.job_namespace, r.job_name, r.dag_id, r.task_id, r.state, r.started_at, r.ended_at"


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


def closure(c: Conn, start: list[int], depth: int, *, up: bool) -> list[Edge]:
    """Edges met within ``depth`` hops upstream (or downstream) of the ``start`` column ids."""
    if not start or depth == 0:
        return []
    rows = c.q(UP_CLOSURE if up else DOWN_CLOSURE, [sorted(set(start)), depth, depth])
    return sorted({edge(r) for r in rows}, key=edge_key)


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

    Plan, in five statements: table-level ancestors of the sink (a small graph) -> candidate
    source columns among them -> the tables lying between candidates and sink within ``depth``
    -> the column edges among those tables -> exhaustive simple-path search in memory.
    """
    anc = {int(i): int(d) for i, d in c.q(ANCESTORS, [sink, depth])}
    sink_ds = next((i for i, d in anc.items() if d == 0), None)
    if sink_ds is None:
        return []
    start: dict[int, int] = {}  # source column id -> its table
    if sources is not None:
        for s in sources:
            for i, d in c.q(
                "SELECT c.id, c.dataset_id FROM pl_columns c JOIN pl_datasets d ON d.id = c.dataset_id "
                "WHERE d.name = ? AND (c.name = ? OR ? IS NULL)",
                [s.table, normalize_column(s.column) if s.column else "", s.column],
            ):
                start[int(i)] = int(d)
    else:
        rows = c.q(
            "SELECT t.column_id, c.dataset_id, d.name, c.name, t.category, t.purpose, t.source "
            "FROM pl_tags t JOIN pl_columns c ON c.id = t.column_id "
            "JOIN pl_datasets d ON d.id = c.dataset_id "
            "WHERE c.dataset_id IN (SELECT unnest(?::BIGINT[])) AND t.source IN (SELECT unnest(?::TEXT[]))",
            [sorted(anc), sorted(tag_sources)],
        )
        for col_id, ds, table, column, category, purpose, source in rows:
            if accept(Tag(ref(table, column), category, purpose, TagSource(source))):
                start[int(col_id)] = int(ds)
    start = {i: d for i, d in start.items() if d in anc and d != sink_ds}
    if not start:
        return []
    fwd = c.q(DESCENDANTS, [sorted(anc), sorted(set(start.values())), depth])
    corridor = sorted(int(i) for i, k in fwd if int(k) + anc.get(int(i), depth + 1) <= depth)
    graph: IdGraph[tuple] = IdGraph()
    refs: dict[int, ColumnRef] = {}
    for i, d, table, name in c.q(
        "SELECT c.id, c.dataset_id, d.name, c.name FROM pl_columns c "
        "JOIN pl_datasets d ON d.id = c.dataset_id WHERE c.dataset_id IN (SELECT unnest(?::BIGINT[]))",
        [corridor],
    ):
        graph.add_node(int(i), table=int(d), rows=name == ROWS)
        refs[int(i)] = ref(table, name)
    for s, t, sub, m, d in c.q(
        "WITH cc AS (SELECT id FROM pl_columns WHERE dataset_id IN (SELECT unnest(?::BIGINT[]))) "
        f"SELECT {EDGE_COLS} FROM pl_edges e "
        "WHERE e.target_id IN (SELECT id FROM cc) AND e.source_id IN (SELECT id FROM cc)",
        [corridor],
    ):
        graph.add_edge(int(s), int(t), Edge(refs[int(s)], refs[int(t)], Subtype(sub), bool(m), d))
    sinks = [i for i, d in graph.table.items() if d == sink_ds]
    found = graph.paths([i for i in start if i in graph.table], sinks, depth, max_paths)
    return sorted(found, key=path_key)


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
