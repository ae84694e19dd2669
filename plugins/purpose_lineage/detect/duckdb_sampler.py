"""DuckDB backend: ``USING SAMPLE`` plus ``regexp_full_match`` inside DuckDB.

Tables up to ``rows`` rows are read whole. Larger ones get a reservoir sample of
``rows`` rows; above ``50 x rows`` a block-level (system) sample is taken first, so the
time stays bounded for very large tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from purpose_lineage.detect.model import ColumnSample
from purpose_lineage.detect.patterns import duckdb_flags
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

SYSTEM_SAMPLE_FACTOR = 50


class DuckDBWarehouse:
    """A DuckDB database file, opened read-only (or an existing connection)."""

    def __init__(self, path: str | None = None, *, connection=None):
        import duckdb

        if connection is not None:
            self.con, self._owned = connection, False
            return
        try:
            self.con = duckdb.connect(path or ":memory:", read_only=bool(path and path != ":memory:"))
        except duckdb.Error as exc:
            raise DetectionError(f"cannot open DuckDB database {path!r}: {type(exc).__name__}") from None
        self._owned = True

    def tables(self) -> list[TableInfo]:
        sizes = {
            (s, t): n
            for s, t, n in self.con.execute(
                "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                "WHERE database_name = current_database() AND NOT internal"
            ).fetchall()
        }
        cols: dict[tuple[str, str], list[ColumnInfo]] = {}
        for schema, table, column, dtype in self.con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall():
            if (schema, table) in sizes:
                cols.setdefault((schema, table), []).append(ColumnInfo(column, dtype))
        return [TableInfo(s, t, tuple(cols.get((s, t), ())), sizes[(s, t)]) for s, t in sorted(sizes)]

    def sample(self, table: TableInfo, *, rows: int, validate_limit: int) -> list[ColumnSample]:
        out: list[ColumnSample] = []
        for part in chunks([c for c in table.columns if c.scannable]):
            row = self.con.execute(build_query(table, part, rows, validate_limit)).fetchone()
            out.extend(column_samples(table, part, row, validate_limit))
        return out

    def close(self) -> None:
        if self._owned:
            self.con.close()


def build_query(table: TableInfo, columns: Sequence[ColumnInfo], rows: int, limit: int) -> str:
    src = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    est = table.estimated_rows
    sample = ""
    if est is None or est > rows:
        if est is not None and est > SYSTEM_SAMPLE_FACTOR * rows:
            pct = max(0.001, min(100.0, 100.0 * 4 * rows / est))
            src = f"(SELECT * FROM {src} USING SAMPLE {pct:.4f} PERCENT (system, {SEED}))"
        sample = f" USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE ({SEED})"
    casts = ", ".join(f"CAST({quote_ident(c.name)} AS VARCHAR) AS v{i}" for i, c in enumerate(columns))
    flags, aggs = [], []
    for i in range(len(columns)):
        p, e, h = duckdb_flags(f"v{i}")
        flags.append(f"v{i}, {p} AS p{i}, {e} AS e{i}, {h} AS h{i}")
        aggs.append(
            f"count(v{i}), count_if(p{i}), count_if(e{i}), count_if(h{i}), "
            + ", ".join(f"list_slice(list(v{i}) FILTER (WHERE {k}{i}), 1, {int(limit)})" for k in "peh")
        )
    return (
        f"WITH s AS (SELECT {casts} FROM {src}{sample}), f AS (SELECT {', '.join(flags)} FROM s) "
        f"SELECT count(*), {', '.join(aggs)} FROM f"
    )


@register_backend("duckdb")
def _open(url: str) -> DuckDBWarehouse:
    return DuckDBWarehouse(parse_url(url).database or ":memory:")
