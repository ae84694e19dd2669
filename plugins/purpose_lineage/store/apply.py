"""Apply one :class:`~purpose_lineage.store.batch.Batch` inside an open transaction.

SQL here is accepted by DuckDB and PostgreSQL alike: ``?`` placeholders (the PostgreSQL
connection rewrites them), ``INSERT ... ON CONFLICT``, ``unnest(?::T[])`` for id lists.
Rows are sorted before insertion so that concurrent PostgreSQL writers take row locks in
the same order and cannot deadlock each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from purpose_lineage.store.base import utcnow
from purpose_lineage.store.batch import ROWS, Batch, naive_utc, normalize_column

CHUNK = 500  # rows per multi-row INSERT


class Conn(Protocol):
    dialect: str

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    def x(self, sql: str, params: Sequence[Any] = ()) -> None: ...


def insert_rows(c: Conn, head: str, width: int, rows: Iterable[Sequence[Any]], tail: str = "") -> None:
    """``head VALUES (...), (...) tail`` in chunks of :data:`CHUNK` rows."""
    rows = list(rows)
    one = "(" + ",".join("?" * width) + ")"
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        c.x(f"{head} VALUES {','.join([one] * len(chunk))} {tail}", [v for r in chunk for v in r])


def ensure_datasets(c: Conn, tables: dict[str, str], explicit: set[str], now: Any) -> dict[str, int]:
    """Dataset ids by name, creating missing datasets. Namespaces given explicitly win over 'default'."""
    if not tables:
        return {}
    rows = sorted((name, ns if name in explicit else "default", now) for name, ns in tables.items())
    insert_rows(
        c,
        "INSERT INTO pl_datasets (name, namespace, created_at)",
        3,
        rows,
        "ON CONFLICT (name) DO UPDATE SET namespace = CASE WHEN excluded.namespace <> 'default' "
        "THEN excluded.namespace ELSE pl_datasets.namespace END",
    )
    got = c.q("SELECT name, id FROM pl_datasets WHERE name IN (SELECT unnest(?::TEXT[]))", [sorted(tables)])
    return {name: int(i) for name, i in got}


def ensure_columns(c: Conn, ds: dict[str, int], columns: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Column ids by (table, stored name), creating missing columns and every table's row set."""
    cols = set(columns) | {(t, ROWS) for t in ds}
    rows = sorted((ds[t], name) for t, name in cols)
    insert_rows(
        c, "INSERT INTO pl_columns (dataset_id, name)", 2, rows, "ON CONFLICT (dataset_id, name) DO NOTHING"
    )
    by_id = {i: t for t, i in ds.items()}
    got = c.q(
        "SELECT c.dataset_id, c.name, c.id FROM pl_columns c "
        "JOIN (SELECT unnest(?::BIGINT[]) AS d, unnest(?::TEXT[]) AS n) v "
        "ON c.dataset_id = v.d AND c.name = v.n",
        [[r[0] for r in rows], [r[1] for r in rows]],
    )
    return {(by_id[int(d)], name): int(i) for d, name, i in got}


def apply_batch(c: Conn, b: Batch) -> bool:
    """Write ``b``; False if its run event was already stored (then nothing is written)."""
    now = naive_utc(utcnow())
    if b.run is not None:
        r = b.run
        fresh = c.q(
            "INSERT INTO pl_run_events (run_id, event_type, event_time, received_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING run_id",
            [r.run_id, r.event_type, naive_utc(r.event_time), now],
        )
        if not fresh:
            return False
    tables = b.tables
    ds = ensure_datasets(c, tables, {d.table for d in b.datasets}, now)
    col = ensure_columns(c, ds, b.columns)

    def cid(table: str, column: str | None) -> int:
        return col[(table, normalize_column(column))]

    edge_rows = sorted(
        {
            (cid(e.source.table, e.source.column), cid(e.target.table, e.target.column), e.subtype.value): e
            for e in b.edges
        }.items()
    )
    insert_rows(
        c,
        "INSERT INTO pl_edges (source_id, target_id, subtype, masking, description, created_at)",
        6,
        [(*k, e.masking, e.description, now) for k, e in edge_rows],
        # masked only while every producer says masked; a plain copy anywhere wins (fail closed)
        "ON CONFLICT (source_id, target_id, subtype) DO UPDATE SET "
        "masking = pl_edges.masking AND excluded.masking, "
        "description = COALESCE(excluded.description, pl_edges.description)",
    )
    table_pairs = sorted({(ds[e.source.table], ds[e.target.table]) for e in b.edges})
    insert_rows(
        c,
        "INSERT INTO pl_dataset_edges (source_dataset_id, target_dataset_id)",
        2,
        table_pairs,
        "ON CONFLICT DO NOTHING",
    )
    if b.run is not None:
        insert_rows(
            c,
            "INSERT INTO pl_edge_runs (source_id, target_id, subtype, run_id)",
            4,
            [(*k, b.run.run_id) for k, _ in edge_rows],
            "ON CONFLICT DO NOTHING",
        )
    tag_rows = sorted(
        {
            (
                cid(t.column.table, t.column.column),
                t.category,
                t.purpose,
                t.source.value,
                cid(t.origin.table, t.origin.column) if t.origin else 0,
            ): t.run_id
            for t in b.tags
        }.items()
    )
    insert_rows(
        c,
        "INSERT INTO pl_tags "
        "(column_id, category, purpose, source, origin_id, run_id, first_seen, last_seen)",
        8,
        [(*k, run_id, now, now) for k, run_id in tag_rows],
        "ON CONFLICT (column_id, category, purpose, source, origin_id) DO UPDATE SET "
        "run_id = COALESCE(excluded.run_id, pl_tags.run_id), last_seen = excluded.last_seen",
    )
    if b.run is not None:
        _record_run(c, b, ds)
    checks = {(a.run_id or "", ds[a.table], normalize_column(a.column), a.assertion): a for a in b.assertions}
    insert_rows(
        c,
        "INSERT INTO pl_assertions "
        "(run_id, dataset_id, column_name, assertion, success, severity, recorded_at)",
        7,
        [(*k, a.success, a.severity, now) for k, a in sorted(checks.items(), key=lambda kv: kv[0])],
        "ON CONFLICT (run_id, dataset_id, column_name, assertion) DO UPDATE SET "
        "success = excluded.success, severity = excluded.severity",
    )
    insert_rows(
        c,
        "INSERT INTO pl_verdicts "
        "(run_id, dag_id, task_id, sink, passed, violations, affected_count, checked_at)",
        8,
        sorted(
            (
                (
                    v.run_id,
                    v.dag_id,
                    v.task_id,
                    v.sink,
                    v.passed,
                    json.dumps(list(v.violations), sort_keys=True),
                    v.affected_count,
                    naive_utc(v.checked_at),
                )
                for v in b.verdicts
            ),
            key=lambda r: (r[0], r[2], r[3], r[7]),
        ),
        "ON CONFLICT DO NOTHING",
    )
    return True


def _record_run(c: Conn, b: Batch, ds: dict[str, int]) -> None:
    r = b.run
    assert r is not None
    at = naive_utc(r.event_time)
    ended = at if r.event_type in ("COMPLETE", "FAIL", "ABORT") else None
    c.x(
        "INSERT INTO pl_runs (run_id, job_namespace, job_name, dag_id, task_id, state, state_time, "
        "started_at, ended_at, producer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id) DO UPDATE SET "
        "state = CASE WHEN excluded.state_time >= pl_runs.state_time "
        "THEN excluded.state ELSE pl_runs.state END, "
        "state_time = GREATEST(pl_runs.state_time, excluded.state_time), "
        "started_at = LEAST(pl_runs.started_at, excluded.started_at), "
        "ended_at = GREATEST(pl_runs.ended_at, excluded.ended_at), "
        "job_name = CASE WHEN pl_runs.job_name = '' THEN excluded.job_name ELSE pl_runs.job_name END, "
        "dag_id = COALESCE(pl_runs.dag_id, excluded.dag_id), "
        "task_id = COALESCE(pl_runs.task_id, excluded.task_id), "
        "producer = COALESCE(pl_runs.producer, excluded.producer)",
        [r.run_id, r.job_namespace, r.job_name, r.dag_id, r.task_id, r.event_type, at, at, ended, r.producer],
    )
    roles = sorted({(ds[t], "input") for t in b.inputs} | {(ds[t], "output") for t in b.outputs})
    insert_rows(
        c,
        "INSERT INTO pl_run_datasets (run_id, dataset_id, role)",
        3,
        [(r.run_id, d, role) for d, role in roles],
        "ON CONFLICT DO NOTHING",
    )
