"""Versioned schema migrations, shared by both backends.

``pl_schema_version`` lists the applied versions. :func:`migrate` applies the missing steps
in order, each in its own transaction, so an upgrade keeps every row. Steps are plain SQL
that DuckDB and PostgreSQL both accept; a step may be limited to one dialect.

Tables are prefixed ``pl_`` so that the store can share a PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from purpose_lineage.store.base import utcnow
from purpose_lineage.store.batch import naive_utc


@dataclass(frozen=True)
class Step:
    sql: str
    dialect: str | None = None  # None: both


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    steps: tuple[Step, ...]


def _both(*sql: str) -> tuple[Step, ...]:
    return tuple(Step(s) for s in sql)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "datasets, columns, edges, tags, runs, assertions, verdicts",
        _both(
            "CREATE SEQUENCE IF NOT EXISTS pl_dataset_seq",
            "CREATE SEQUENCE IF NOT EXISTS pl_column_seq",
            """CREATE TABLE pl_datasets (
                id BIGINT DEFAULT nextval('pl_dataset_seq') PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                namespace TEXT NOT NULL,
                created_at TIMESTAMP NOT NULL)""",
            # name '' is the table's row set (ColumnRef.column None)
            """CREATE TABLE pl_columns (
                id BIGINT DEFAULT nextval('pl_column_seq') PRIMARY KEY,
                dataset_id BIGINT NOT NULL,
                name TEXT NOT NULL,
                UNIQUE (dataset_id, name))""",
            """CREATE TABLE pl_edges (
                source_id BIGINT NOT NULL,
                target_id BIGINT NOT NULL,
                subtype TEXT NOT NULL,
                masking BOOLEAN NOT NULL,
                description TEXT,
                created_at TIMESTAMP NOT NULL,
                PRIMARY KEY (source_id, target_id, subtype))""",
            """CREATE TABLE pl_edge_runs (
                source_id BIGINT NOT NULL,
                target_id BIGINT NOT NULL,
                subtype TEXT NOT NULL,
                run_id TEXT NOT NULL,
                PRIMARY KEY (source_id, target_id, subtype, run_id))""",
            # origin_id 0: no origin (column ids start at 1)
            """CREATE TABLE pl_tags (
                column_id BIGINT NOT NULL,
                category TEXT NOT NULL,
                purpose TEXT NOT NULL,
                source TEXT NOT NULL,
                origin_id BIGINT NOT NULL,
                run_id TEXT,
                first_seen TIMESTAMP NOT NULL,
                last_seen TIMESTAMP NOT NULL,
                PRIMARY KEY (column_id, category, purpose, source, origin_id))""",
            """CREATE TABLE pl_runs (
                run_id TEXT PRIMARY KEY,
                job_namespace TEXT NOT NULL,
                job_name TEXT NOT NULL,
                dag_id TEXT,
                task_id TEXT,
                state TEXT NOT NULL,
                state_time TIMESTAMP NOT NULL,
                started_at TIMESTAMP,
                ended_at TIMESTAMP,
                producer TEXT)""",
            """CREATE TABLE pl_run_events (
                run_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                event_time TIMESTAMP NOT NULL,
                received_at TIMESTAMP NOT NULL,
                PRIMARY KEY (run_id, event_type, event_time))""",
            """CREATE TABLE pl_run_datasets (
                run_id TEXT NOT NULL,
                dataset_id BIGINT NOT NULL,
                role TEXT NOT NULL,
                PRIMARY KEY (run_id, dataset_id, role))""",
            """CREATE TABLE pl_assertions (
                run_id TEXT NOT NULL,
                dataset_id BIGINT NOT NULL,
                column_name TEXT NOT NULL,
                assertion TEXT NOT NULL,
                success BOOLEAN NOT NULL,
                severity TEXT,
                recorded_at TIMESTAMP NOT NULL,
                PRIMARY KEY (run_id, dataset_id, column_name, assertion))""",
            """CREATE TABLE pl_verdicts (
                run_id TEXT NOT NULL,
                dag_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                sink TEXT NOT NULL,
                passed BOOLEAN NOT NULL,
                violations TEXT NOT NULL,
                affected_count BIGINT,
                checked_at TIMESTAMP NOT NULL,
                PRIMARY KEY (run_id, task_id, sink, checked_at))""",
        )
        + (
            Step("CREATE INDEX pl_edges_target ON pl_edges (target_id)", "postgresql"),
            Step("CREATE INDEX pl_run_datasets_ds ON pl_run_datasets (dataset_id)", "postgresql"),
            Step("CREATE INDEX pl_verdicts_sink ON pl_verdicts (sink)", "postgresql"),
        ),
    ),
    Migration(
        2,
        "table-level edges, so that the guard narrows a path search to the tables between source and sink",
        _both(
            """CREATE TABLE pl_dataset_edges (
                source_dataset_id BIGINT NOT NULL,
                target_dataset_id BIGINT NOT NULL,
                PRIMARY KEY (source_dataset_id, target_dataset_id))""",
            """INSERT INTO pl_dataset_edges (source_dataset_id, target_dataset_id)
               SELECT DISTINCT s.dataset_id, t.dataset_id
               FROM pl_edges e
               JOIN pl_columns s ON s.id = e.source_id
               JOIN pl_columns t ON t.id = e.target_id""",
        )
        + (
            Step(
                "CREATE INDEX pl_dataset_edges_target ON pl_dataset_edges (target_dataset_id)", "postgresql"
            ),
        ),
    ),
    Migration(
        3,
        "alert claims: which failed-run alert went to which channel (duplicate suppression)",
        _both(
            """CREATE TABLE pl_alert_claims (
                dag_id TEXT NOT NULL,
                run_id TEXT NOT NULL,
                sink TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                channel TEXT NOT NULL,
                claimed_at TIMESTAMP NOT NULL,
                PRIMARY KEY (dag_id, run_id, sink, fingerprint, channel))""",
        ),
    ),
    Migration(
        4,
        "table edges indexed by target and source, so that the guard's upstream walk reads the index only",
        (
            # PostgreSQL: one index-only lookup per table met walking up, not an index and a heap
            # visit; it replaces the index on the target alone (same count of indexes to write)
            Step(
                "CREATE INDEX pl_dataset_edges_target_source "
                "ON pl_dataset_edges (target_dataset_id, source_dataset_id)",
                "postgresql",
            ),
            Step("DROP INDEX IF EXISTS pl_dataset_edges_target", "postgresql"),
        ),
    ),
    Migration(
        5,
        "a change counter that every write bumps, so that readers may cache what they derive",
        _both(
            "CREATE TABLE pl_store_changes (id INTEGER PRIMARY KEY, counter BIGINT NOT NULL)",
            "INSERT INTO pl_store_changes (id, counter) VALUES (1, 0)",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS pl_schema_version (
    version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"""


def current_version(execute: Callable[[str, tuple], list]) -> int:
    rows = execute("SELECT max(version) FROM pl_schema_version", ())
    return int(rows[0][0] or 0) if rows else 0


def pending(version: int, target: int = LATEST) -> list[Migration]:
    """Migrations to apply to go from ``version`` to ``target``.

    >>> [m.version for m in pending(0)]
    [1, 2, 3, 4, 5]
    >>> pending(LATEST)
    []
    """
    return [m for m in MIGRATIONS if version < m.version <= target]


def statements(migration: Migration, dialect: str) -> list[str]:
    return [s.sql for s in migration.steps if s.dialect in (None, dialect)]


def version_row(migration: Migration) -> tuple:
    return (migration.version, migration.description, naive_utc(utcnow()))
