"""Apply one :class:`~purpose_lineage.store.batch.Batch` inside an open transaction.

SQL here is accepted by DuckDB and PostgreSQL alike: ``?`` placeholders (the PostgreSQL
connection rewrites them), ``INSERT ... ON CONFLICT``, ``unnest(?::T[])`` for id lists.
Rows are sorted before insertion so that concurrent PostgreSQL writers take row locks in
the same order and cannot deadlock each other.

On DuckDB the writer is alone (the store's file lock), so rows keyed by a run the store has
never seen are inserted without ``ON CONFLICT``: DuckDB plans a conflict clause for about
3 ms a statement, a plain insert costs a fraction of that, and a task's write is mostly
rows of its new run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from purpose_lineage.store.base import utcnow
from purpose_lineage.store.batch import ROWS, Batch, naive_utc, normalize_column

CHUNK = 500  # rows per multi-row INSERT
# in the writing transaction: a reader that sees the new counter also sees what was written
BUMP_CHANGES = "UPDATE pl_store_changes SET counter = counter + 1 WHERE id = 1"


class Conn(Protocol):
    dialect: str

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    def x(self, sql: str, params: Sequence[Any] = ()) -> None: ...


def among(expr: str, names: Sequence[str]) -> tuple[str, list[Any]]:
    """``expr IN (?, ?)`` for a few text values, else one array parameter; SQL and parameters.

    A task asks about a handful of tables; DuckDB plans a short ``IN`` list about 0.7 ms
    faster than ``IN (SELECT unnest(?::TEXT[]))``.

    >>> among("d.name", ["a", "b"])
    ('d.name IN (?,?)', ['a', 'b'])
    """
    if 0 < len(names) <= 64:
        return f"{expr} IN ({','.join('?' * len(names))})", list(names)
    return f"{expr} IN (SELECT unnest(?::TEXT[]))", [list(names)]


def insert_rows(c: Conn, head: str, width: int, rows: Iterable[Sequence[Any]], tail: str = "") -> None:
    """``head VALUES (...), (...) tail`` in chunks of :data:`CHUNK` rows."""
    rows = list(rows)
    one = "(" + ",".join("?" * width) + ")"
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        c.x(f"{head} VALUES {','.join([one] * len(chunk))} {tail}", [v for r in chunk for v in r])


def ensure_datasets(
    c: Conn, tables: dict[str, str], explicit: set[str], now: Any
) -> tuple[dict[str, int], dict[tuple[int, str], int]]:
    """Dataset ids by name, creating missing datasets. Namespaces given explicitly win over 'default'.

    Also returns the stored column ids of those datasets by (dataset id, name), read in the
    same query (one statement fewer for :func:`ensure_columns`). Reads first and upserts only
    what is missing or changes: an upsert costs far more than a read (DuckDB), and a task
    mostly names tables the store knows.
    """
    if not tables:
        return {}, {}
    known, cols = _dataset_rows(c, sorted(tables))
    wanted = {name: ns if name in explicit else "default" for name, ns in tables.items()}
    rows = sorted(
        (name, ns, now)
        for name, ns in wanted.items()
        if name not in known or (ns != "default" and ns != known[name][1])
    )
    if rows:
        insert_rows(
            c,
            "INSERT INTO pl_datasets (name, namespace, created_at)",
            3,
            rows,
            "ON CONFLICT (name) DO UPDATE SET namespace = CASE WHEN excluded.namespace <> 'default' "
            "THEN excluded.namespace ELSE pl_datasets.namespace END",
        )
        again, more = _dataset_rows(c, [r[0] for r in rows])
        known.update(again)
        cols.update(more)
    return {name: known[name][0] for name in tables}, cols


def _dataset_rows(c: Conn, names: list[str]) -> tuple[dict[str, tuple[int, str]], dict[tuple[int, str], int]]:
    where, params = among("d.name", names)
    got = c.q(
        "SELECT d.name, d.id, d.namespace, c.name, c.id FROM pl_datasets d "
        f"LEFT JOIN pl_columns c ON c.dataset_id = d.id WHERE {where}",
        params,
    )
    datasets = {name: (int(i), ns) for name, i, ns, _, _ in got}
    columns = {(int(i), col): int(ci) for _, i, _, col, ci in got if ci is not None}
    return datasets, columns


def ensure_columns(
    c: Conn, ds: dict[str, int], columns: set[tuple[str, str]], stored: dict[tuple[int, str], int]
) -> dict[tuple[str, str], int]:
    """Column ids by (table, stored name), creating missing columns and every table's row set.

    ``stored``: column ids already read (see :func:`ensure_datasets`).
    """
    cols = set(columns) | {(t, ROWS) for t in ds}
    rows = sorted((ds[t], name) for t, name in cols)
    found = {r: stored[r] for r in rows if r in stored}
    missing = [r for r in rows if r not in found]
    if missing:
        insert_rows(
            c,
            "INSERT INTO pl_columns (dataset_id, name)",
            2,
            missing,
            "ON CONFLICT (dataset_id, name) DO NOTHING",
        )
        found.update(_column_ids(c, missing))
    by_id = {i: t for t, i in ds.items()}
    return {(by_id[d], name): i for (d, name), i in found.items()}


def _column_ids(c: Conn, rows: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    got = c.q(
        "SELECT c.dataset_id, c.name, c.id FROM pl_columns c "
        "JOIN (SELECT unnest(?::BIGINT[]) AS d, unnest(?::TEXT[]) AS n) v "
        "ON c.dataset_id = v.d AND c.name = v.n",
        [[r[0] for r in rows], [r[1] for r in rows]],
    )
    return {(int(d), name): int(i) for d, name, i in got}


def _changed_edges(
    c: Conn, edges: dict[tuple[int, int, str], tuple[bool, str | None]]
) -> list[tuple[int, int, str]]:
    """Keys of ``edges`` that are new, or whose upsert would change the stored row."""
    keys = sorted(edges)
    stored = {
        (int(s), int(t), sub): (bool(m), d)
        for s, t, sub, m, d in c.q(
            "SELECT e.source_id, e.target_id, e.subtype, e.masking, e.description FROM pl_edges e "
            "JOIN (SELECT unnest(?::BIGINT[]) AS s, unnest(?::BIGINT[]) AS t, unnest(?::TEXT[]) AS st) v "
            "ON e.source_id = v.s AND e.target_id = v.t AND e.subtype = v.st",
            [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]],
        )
    }
    out = []
    for key in keys:
        masking, desc = edges[key]
        old = stored.get(key)
        # same rule as the upsert below: masked only while all say so; a new description wins
        if old is None or (old[0] and not masking) or (desc is not None and desc != old[1]):
            out.append(key)
    return out


def apply_batch(c: Conn, b: Batch) -> bool:
    """Write ``b``; False if its run event was already stored (then nothing is written)."""
    return apply_batches(c, [b])[0]


def apply_batches(c: Conn, batches: Sequence[Batch]) -> list[bool]:
    """Write many batches with one statement per table (a drain merges what waits in the spool).

    Returns, per batch, False if its run event was already stored (or repeated earlier in
    ``batches``): such a batch writes nothing.
    """
    now = naive_utc(utcnow())
    fresh, new_runs = _fresh_events(c, batches, now)
    todo = [b for b, ok in zip(batches, fresh, strict=True) if ok]
    if not todo:
        return fresh
    tables: dict[str, str] = {}
    explicit: set[str] = set()
    columns: set[tuple[str, str]] = set()
    for b in todo:
        for name, ns in b.tables.items():
            if name not in tables or ns != "default":
                tables[name] = ns
        explicit.update(d.table for d in b.datasets)
        columns |= b.columns
    ds, stored_columns = ensure_datasets(c, tables, explicit, now)
    col = ensure_columns(c, ds, columns, stored_columns)

    def cid(table: str, column: str | None) -> int:
        return col[(table, normalize_column(column))]

    edges: dict[tuple[int, int, str], tuple[bool, str | None]] = {}
    edge_runs: set[tuple[int, int, str, str]] = set()
    tags: dict[tuple, str | None] = {}
    for b in todo:
        for e in b.edges:
            key = (
                cid(e.source.table, e.source.column),
                cid(e.target.table, e.target.column),
                e.subtype.value,
            )
            masking, desc = edges.get(key, (True, None))
            edges[key] = (masking and e.masking, e.description or desc)
            if b.run is not None:
                edge_runs.add((*key, b.run.run_id))
        for t in b.tags:
            origin = cid(t.origin.table, t.origin.column) if t.origin else 0
            key = (cid(t.column.table, t.column.column), t.category, t.purpose, t.source.value, origin)
            tags[key] = t.run_id or tags.get(key)
    changed = _changed_edges(c, edges) if edges else []
    insert_rows(
        c,
        "INSERT INTO pl_edges (source_id, target_id, subtype, masking, description, created_at)",
        6,
        [(*k, *edges[k], now) for k in changed],
        # masked only while every producer says masked; a plain copy anywhere wins (fail closed)
        "ON CONFLICT (source_id, target_id, subtype) DO UPDATE SET "
        "masking = pl_edges.masking AND excluded.masking, "
        "description = COALESCE(excluded.description, pl_edges.description)",
    )
    by_col = {i: ds[t] for (t, _), i in col.items()}
    # a stored edge's table pair is stored too (written in the same transaction; v2 filled
    # the pairs of older edges), so only changed edges can add a pair
    insert_rows(
        c,
        "INSERT INTO pl_dataset_edges (source_dataset_id, target_dataset_id)",
        2,
        sorted({(by_col[s], by_col[t]) for s, t, _ in changed}),
        "ON CONFLICT DO NOTHING",
    )
    _insert_by_run(
        c,
        new_runs,
        3,
        "INSERT INTO pl_edge_runs (source_id, target_id, subtype, run_id)",
        4,
        sorted(edge_runs),
        "ON CONFLICT DO NOTHING",
    )
    insert_rows(
        c,
        "INSERT INTO pl_tags "
        "(column_id, category, purpose, source, origin_id, run_id, first_seen, last_seen)",
        8,
        [(*k, run_id, now, now) for k, run_id in sorted(tags.items(), key=lambda kv: kv[0])],
        "ON CONFLICT (column_id, category, purpose, source, origin_id) DO UPDATE SET "
        "run_id = COALESCE(excluded.run_id, pl_tags.run_id), last_seen = excluded.last_seen",
    )
    _record_runs(c, todo, ds, new_runs)
    checks = {
        (a.run_id or "", ds[a.table], normalize_column(a.column), a.assertion): a
        for b in todo
        for a in b.assertions
    }
    insert_rows(
        c,
        "INSERT INTO pl_assertions "
        "(run_id, dataset_id, column_name, assertion, success, severity, recorded_at)",
        7,
        [(*k, a.success, a.severity, now) for k, a in sorted(checks.items(), key=lambda kv: kv[0])],
        "ON CONFLICT (run_id, dataset_id, column_name, assertion) DO UPDATE SET "
        "success = excluded.success, severity = excluded.severity",
    )
    verdicts = {(v.run_id, v.task_id, v.sink, naive_utc(v.checked_at)): v for b in todo for v in b.verdicts}
    insert_rows(
        c,
        "INSERT INTO pl_verdicts "
        "(run_id, dag_id, task_id, sink, passed, violations, affected_count, checked_at)",
        8,
        [
            (
                rid,
                v.dag_id,
                task,
                sink,
                v.passed,
                json.dumps(list(v.violations), sort_keys=True),
                v.affected_count,
                at,
            )
            for (rid, task, sink, at), v in sorted(verdicts.items(), key=lambda kv: kv[0])
        ],
        "ON CONFLICT DO NOTHING",
    )
    # last, so that concurrent PostgreSQL writers hold this one hot row only until they commit
    c.x(BUMP_CHANGES)
    return fresh


def _fresh_events(c: Conn, batches: Sequence[Batch], now: Any) -> tuple[list[bool], set[str]]:
    """Insert the batches' run events; True for a batch without a run or whose event is new.

    Also returns the run ids the store had no event of (DuckDB only; PostgreSQL: none), so
    no row keyed by them exists yet: every run-keyed row is written with its run's events.
    """
    keys = {}
    for b in batches:
        if b.run is not None:
            keys.setdefault((b.run.run_id, b.run.event_type, naive_utc(b.run.event_time)), None)
    inserted: set[tuple] = set()
    new_runs: set[str] = set()
    rows = sorted(keys)
    if c.dialect == "duckdb" and rows:  # the only writer: read, then insert what is missing
        ids = sorted({r[0] for r in rows})
        where, params = among("run_id", ids)
        stored = {
            (rid, et, _naive(at))
            for rid, et, at in c.q(
                f"SELECT run_id, event_type, event_time FROM pl_run_events WHERE {where}", params
            )
        }
        new_runs = set(ids) - {k[0] for k in stored}
        inserted = {r for r in rows if r not in stored}
        insert_rows(
            c,
            "INSERT INTO pl_run_events (run_id, event_type, event_time, received_at)",
            4,
            [(*r, now) for r in rows if r in inserted],
        )
        rows = []
    one = "(?,?,?,?)"
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        got = c.q(
            "INSERT INTO pl_run_events (run_id, event_type, event_time, received_at) "
            f"VALUES {','.join([one] * len(chunk))} ON CONFLICT DO NOTHING "
            "RETURNING run_id, event_type, event_time",
            [v for r in chunk for v in (*r, now)],
        )
        inserted.update((rid, et, _naive(at)) for rid, et, at in got)
    out, seen = [], set()
    for b in batches:
        if b.run is None:
            out.append(True)
            continue
        key = (b.run.run_id, b.run.event_type, naive_utc(b.run.event_time))
        out.append(key in inserted and key not in seen)
        seen.add(key)
    return out, new_runs


def _insert_by_run(
    c: Conn, new_runs: set[str], run_at: int, head: str, width: int, rows: list[Sequence[Any]], tail: str
) -> None:
    """Rows of runs in ``new_runs`` (column ``run_at``) plainly, the others with ``tail``."""
    insert_rows(c, head, width, [r for r in rows if r[run_at] in new_runs])
    insert_rows(c, head, width, [r for r in rows if r[run_at] not in new_runs], tail)


def _naive(value: Any) -> Any:
    return value.replace(tzinfo=None) if getattr(value, "tzinfo", None) else value


def _record_runs(c: Conn, batches: Sequence[Batch], ds: dict[str, int], new_runs: set[str]) -> None:
    # one row per run: merge its events here (an upsert may not touch a row twice in one statement)
    runs: dict[str, list] = {}
    roles: set[tuple[str, int, str]] = set()
    for b in batches:
        r = b.run
        if r is None:
            continue
        at = naive_utc(r.event_time)
        ended = at if r.event_type in ("COMPLETE", "FAIL", "ABORT") else None
        row = [
            r.run_id,
            r.job_namespace,
            r.job_name,
            r.dag_id,
            r.task_id,
            r.event_type,
            at,
            at,
            ended,
            r.producer,
        ]
        old = runs.get(r.run_id)
        if old is not None:
            if old[6] > at:
                row[5], row[6] = old[5], old[6]
            row[7] = min(old[7], at)
            row[8] = max(x for x in (old[8], ended) if x is not None) if (old[8] or ended) else None
            row[2] = old[2] or row[2]
            for i in (3, 4, 9):
                row[i] = old[i] if old[i] is not None else row[i]
        runs[r.run_id] = row
        roles |= {(r.run_id, ds[t], "input") for t in b.inputs} | {
            (r.run_id, ds[t], "output") for t in b.outputs
        }
    _insert_by_run(
        c,
        new_runs,
        0,
        "INSERT INTO pl_runs (run_id, job_namespace, job_name, dag_id, task_id, state, state_time, "
        "started_at, ended_at, producer)",
        10,
        [runs[k] for k in sorted(runs)],
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
    )
    _insert_by_run(
        c,
        new_runs,
        0,
        "INSERT INTO pl_run_datasets (run_id, dataset_id, role)",
        3,
        sorted(roles),
        "ON CONFLICT DO NOTHING",
    )
