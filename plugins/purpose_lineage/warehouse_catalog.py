"""Read a lineage catalog (table -> columns) from a warehouse's ``information_schema``.

The SQL analyser expands ``SELECT *`` and resolves unqualified columns with a catalog;
this reads one from a live DB-API connection (DuckDB, PostgreSQL, anything with
``information_schema.columns``). Keys are ``schema.table``, lower-cased; unqualified names
in SQL find them by suffix (see :mod:`purpose_lineage.core.sql_catalog`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from purpose_lineage.errors import PurposeLineageError

_QUERY = (
    "SELECT table_schema, table_name, column_name FROM information_schema.columns "
    "WHERE table_schema NOT IN ('information_schema', 'pg_catalog') "
    "ORDER BY table_schema, table_name, ordinal_position"
)


def read_catalog(connection: Any, *, schemas: Iterable[str] | None = None) -> dict[str, list[str]]:
    """``{"schema.table": [columns in order]}`` for every table and view visible to ``connection``."""
    wanted = {s.lower() for s in schemas} if schemas is not None else None
    cursor = connection.cursor()
    try:
        cursor.execute(_QUERY)
        rows = cursor.fetchall()
    finally:
        close = getattr(cursor, "close", None)
        if close is not None:
            close()
    catalog: dict[str, list[str]] = {}
    for schema, table, column in rows:
        if wanted is not None and str(schema).lower() not in wanted:
            continue
        catalog.setdefault(f"{schema}.{table}".lower(), []).append(str(column).lower())
    return catalog


def catalog_from_url(url: str, *, schemas: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Connect to ``duckdb:///path`` or ``postgresql://...``, read the catalog, disconnect."""
    if url.startswith("duckdb://"):
        import duckdb

        path = url[len("duckdb:///") :] if url.startswith("duckdb:///") else url[len("duckdb://") :]
        conn = duckdb.connect(path or ":memory:", read_only=bool(path))
    elif url.startswith(("postgresql://", "postgres://")):
        import psycopg2

        conn = psycopg2.connect(url)
    else:
        raise PurposeLineageError(f"unsupported catalog URL scheme: {url.split(':', 1)[0]!r}")
    try:
        return read_catalog(conn, schemas=schemas)
    finally:
        conn.close()
