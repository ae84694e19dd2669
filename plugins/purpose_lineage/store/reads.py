"""Read queries shared by both backends (same SQL, ``?`` placeholders, id lists as arrays)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource
from purpose_lineage.store.apply import Conn, among
from purpose_lineage.store.base import (
    Assertion,
    DatasetInfo,
    RunRecord,
    Verdict,
    as_utc,
)
from purpose_lineage.store.batch import ROWS

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


def runs_for(c: Conn, table: str) -> list[RunRecord]:
    rows = c.q(
        f"SELECT {RUN_COLS} FROM pl_runs r WHERE r.run_id IN (SELECT rd.run_id FROM pl_run_datasets rd "
        "JOIN pl_datasets d ON d.id = rd.dataset_id WHERE d.name = ?)",
        [table],
    )
    return _runs(c, rows)


def latest_writers(c: Conn, tables: list[str]) -> dict[str, str]:
    """Per table, the newest run that has it as an output, in :func:`runs_for`'s order."""
    if not tables:
        return {}
    where, params = among("d.name", tables)
    rows = c.q(
        "SELECT d.name, r.run_id, r.ended_at, r.started_at FROM pl_run_datasets rd "
        "JOIN pl_datasets d ON d.id = rd.dataset_id JOIN pl_runs r ON r.run_id = rd.run_id "
        f"WHERE rd.role = 'output' AND {where}",
        params,
    )
    oldest = as_utc(datetime.min)
    best: dict[str, tuple[datetime, str]] = {}
    for name, run_id, ended, started in rows:
        key = (utc(ended) or utc(started) or oldest, run_id)
        if name not in best or key > best[name]:
            best[name] = key
    return {name: key[1] for name, key in best.items()}


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
