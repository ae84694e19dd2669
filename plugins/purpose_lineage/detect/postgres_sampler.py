"""PostgreSQL backend (psycopg2): ``TABLESAMPLE SYSTEM`` plus the ``~`` operator.

Tables whose estimated size is at most ``4 x rows`` rows are read with ``LIMIT rows``;
larger ones get a page-level ``TABLESAMPLE SYSTEM`` of about ``4 x rows`` rows, shuffled,
then ``LIMIT rows``: the pages read are bounded, whatever the table size. The session is
read-only and each query has a statement timeout.
"""

from __future__ import annotations

from collections.abc import Sequence

from purpose_lineage.detect.model import ColumnSample
from purpose_lineage.detect.patterns import postgres_flags
from purpose_lineage.detect.warehouse import (
    SEED,
    ColumnInfo,
    TableInfo,
    chunks,
    column_samples,
    parse_url,
    quote_ident,
    register_backend,
)
from purpose_lineage.errors import DetectionError

STATEMENT_TIMEOUT_MS = 60_000
_ROWS_PER_PAGE_GUESS = 60  # for tables never analysed (reltuples = -1)

_TABLES_SQL = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), c.reltuples::bigint,
       pg_relation_size(c.oid) / current_setting('block_size')::int
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%' AND has_table_privilege(c.oid, 'SELECT')
ORDER BY 1, 2, a.attnum
"""


class PostgresWarehouse:
    """A PostgreSQL database, read through one read-only psycopg2 session."""

    def __init__(self, dsn: str):
        import psycopg2

        try:
            self.con = psycopg2.connect(dsn, connect_timeout=10)
        except psycopg2.Error as exc:
            raise DetectionError(f"cannot connect to PostgreSQL: {type(exc).__name__}") from None
        self.con.set_session(readonly=True, autocommit=True)
        with self.con.cursor() as cur:
            cur.execute(f"SET statement_timeout = {int(STATEMENT_TIMEOUT_MS)}")

    def tables(self) -> list[TableInfo]:
        tables: dict[tuple[str, str], tuple[list[ColumnInfo], int | None]] = {}
        with self.con.cursor() as cur:
            cur.execute(_TABLES_SQL)
            for schema, table, column, dtype, reltuples, pages in cur.fetchall():
                est = int(reltuples) if reltuples is not None and reltuples >= 0 else None
                if est is None or (est == 0 and pages):
                    est = int(pages or 0) * _ROWS_PER_PAGE_GUESS
                entry = tables.setdefault((schema, table), ([], est))
                entry[0].append(ColumnInfo(column, dtype))
        return [TableInfo(s, t, tuple(cols), est) for (s, t), (cols, est) in sorted(tables.items())]

    def sample(self, table: TableInfo, *, rows: int, validate_limit: int) -> list[ColumnSample]:
        out: list[ColumnSample] = []
        with self.con.cursor() as cur:
            cur.execute("SELECT setseed(%s)", (SEED / 100,))
            for part in chunks([c for c in table.columns if c.scannable]):
                cur.execute(build_query(table, part, rows, validate_limit))
                out.extend(column_samples(table, part, cur.fetchone(), validate_limit))
        return out

    def close(self) -> None:
        self.con.close()


def build_query(table: TableInfo, columns: Sequence[ColumnInfo], rows: int, limit: int) -> str:
    src = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    casts = ", ".join(f"CAST({quote_ident(c.name)} AS text) AS v{i}" for i, c in enumerate(columns))
    est = table.estimated_rows or 0
    if est > 4 * rows:
        pct = max(0.0001, min(100.0, 100.0 * 4 * rows / est))
        sampled = f"TABLESAMPLE SYSTEM ({pct:.4f}) REPEATABLE ({SEED})"
        inner = f"SELECT {casts} FROM {src} {sampled} ORDER BY random()"
    else:
        inner = f"SELECT {casts} FROM {src}"
    flags, aggs = [], []
    for i in range(len(columns)):
        p, e, h = postgres_flags(f"v{i}")
        flags.append(f"v{i}, {p} AS p{i}, {e} AS e{i}, {h} AS h{i}")
        aggs.append(
            f"count(v{i}), count(*) FILTER (WHERE p{i}), count(*) FILTER (WHERE e{i}), "
            f"count(*) FILTER (WHERE h{i}), "
            + ", ".join(f"(array_agg(v{i}) FILTER (WHERE {k}{i}))[1:{int(limit)}]" for k in "peh")
        )
    return (
        f"WITH s AS ({inner} LIMIT {int(rows)}), f AS (SELECT {', '.join(flags)} FROM s) "
        f"SELECT count(*), {', '.join(aggs)} FROM f"
    )


@register_backend("postgresql", "postgres")
def _open(url: str) -> PostgresWarehouse:
    u = parse_url(url)
    parts = {
        "host": u.host,
        "port": u.port,
        "dbname": u.database or None,
        "user": u.username,
        "password": u.password,
        **dict(u.query),
    }
    dsn = " ".join(f"{k}={_dsn_quote(str(v))}" for k, v in parts.items() if v is not None)
    return PostgresWarehouse(dsn)


def _dsn_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
