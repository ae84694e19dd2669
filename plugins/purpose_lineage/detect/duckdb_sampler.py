"""DuckDB backend: ``USING SAMPLE`` plus ``regexp_full_match`` inside DuckDB.

Tables up to ``rows`` rows are read whole. Up to ``50 x rows`` rows they get a
row-level Bernoulli sample of about ``1.25 x rows`` rows, cut to ``rows``. Above that, a
block-level (system) sample of about ``4 x rows`` rows is taken first, then a reservoir
of ``rows`` rows, so the time stays bounded for very large tables.
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
    parse_url,
    quote_ident,
    register_backend,
)
from purpose_lineage.errors import DetectionError

SYSTEM_SAMPLE_FACTOR = 50
LIST_ROWS_PER_VALUE = 4
BERNOULLI_MARGIN = 1.25  # expected rows over the target, so that LIMIT almost always fills


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
            result = self.con.execute(build_query(table, part, rows, validate_limit)).fetchall()
            out.extend(unpivoted_samples(table, part, result, validate_limit))
        return out

    def close(self) -> None:
        if self._owned:
            self.con.close()


def build_query(table: TableInfo, columns: Sequence[ColumnInfo], rows: int, limit: int) -> str:
    """One query per table. The sampled columns are unpivoted into (column, value) rows so
    that each prefilter regex appears once: DuckDB compiles a regex per expression, and
    with one expression per column the planning cost was as large as the scan itself."""
    src = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    est = table.estimated_rows
    sample = ""
    if est is None or est > SYSTEM_SAMPLE_FACTOR * rows:
        if est is not None:
            pct = max(0.001, min(100.0, 100.0 * 4 * rows / est))
            src = f"(SELECT * FROM {src} USING SAMPLE {pct:.4f} PERCENT (system, {SEED}))"
        sample = f" USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE ({SEED})"
    elif est > rows:  # row-level, streaming and parallel: cheaper than a reservoir here
        pct = min(100.0, 100.0 * BERNOULLI_MARGIN * rows / est)
        src = f"(SELECT * FROM {src} USING SAMPLE {pct:.4f} PERCENT (bernoulli, {SEED}) LIMIT {int(rows)})"
    casts = ", ".join(f"CAST({quote_ident(c.name)} AS VARCHAR) AS c{i}" for i, c in enumerate(columns))
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    p, e, h = duckdb_flags("v")
    # Candidate lists come from about LIST_ROWS_PER_VALUE x limit rows spread evenly over
    # the sample: collecting every match of a large sample doubled the query's cost.
    expected = min(est, rows) if est is not None else rows
    every = max(1, expected // (LIST_ROWS_PER_VALUE * max(1, limit)))
    keep = "" if every == 1 else f" AND rn % {every} = 0"
    lists = ", ".join(f"list_slice(list(v) FILTER (WHERE {k}{keep}), 1, {int(limit)})" for k in "peh")
    return (
        f"WITH s AS MATERIALIZED (SELECT row_number() OVER () AS rn, {casts} FROM {src}{sample}), "
        f"u AS (UNPIVOT s ON {names} INTO NAME col VALUE v), "
        f"f AS (SELECT col, v, rn, {p} AS p, {e} AS e, {h} AS h FROM u) "
        f"SELECT col, (SELECT count(*) FROM s), count(*), count_if(p), count_if(e), count_if(h), {lists} "
        f"FROM f GROUP BY col"
    )


def unpivoted_samples(
    table: TableInfo, columns: Sequence[ColumnInfo], result: Sequence[tuple], limit: int
) -> list[ColumnSample]:
    """Map ``(col, rows, nonnull, phone, email, hex, lists...)`` rows back to the columns
    (a column with only NULLs has no row)."""
    by_col = {r[0]: r for r in result}
    rows = int(result[0][1]) if result else 0
    out = []
    for i, col in enumerate(columns):
        r = by_col.get(f"c{i}")
        sample = ColumnSample(table=table.qualified, column=col.name, data_type=col.data_type, rows=rows)
        if r is not None:
            sample.rows = int(r[1])
            sample.nonnull, sample.phone, sample.email, sample.hex = (int(x or 0) for x in r[2:6])
            lists = (list(x or [])[:limit] for x in r[6:9])
            sample.phone_values, sample.email_values, sample.hex_values = lists
        out.append(sample)
    return out


@register_backend("duckdb")
def _open(url: str) -> DuckDBWarehouse:
    return DuckDBWarehouse(parse_url(url).database or ":memory:")
