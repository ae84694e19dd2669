"""A Great Expectations 1.x datasource type ``duckdb`` that actually returns rows.

Why: GX's :class:`SqlAlchemyExecutionEngine` runs every metric query inside
``with engine.connect()`` and reads the result *after* the block has closed the
connection. PostgreSQL drivers have already buffered the rows by then; DuckDB's
result set dies with its connection, so the stock ``sql`` datasource on
``duckdb:///`` URLs yields empty results and every metric fails with
``IndexError``/``TypeError`` (see ``tests/unit/gx/test_duckdb_datasource.py``).

The fix, :class:`DuckDBExecutionEngine`:

* buffers every row-returning result (``CursorResult.freeze()``) while the
  connection is still open, so callers get a detached, fully materialised
  result (metric queries return a handful of aggregate rows, never tables);
* falls back to a plain ``SELECT * ... LIMIT 0`` column lookup when SQLAlchemy
  2.1's inspector finds no columns for a schema-qualified DuckDB table;
* lets regex expectations use PostgreSQL's ``~``/``!~`` operators, which DuckDB
  implements with the same (partial-match) semantics.

:class:`DuckDBDatasource` registers the fluent type ``duckdb``
(``context.data_sources.add_duckdb(name, connection_string="duckdb:///file")``).
GX registers fluent datasource types when their class is *defined*, so this
module must be imported before ``gx.get_context()`` reads a config that uses
``type: duckdb``; :func:`purpose_lineage.gx.register` does that.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from great_expectations.datasource.fluent.config_str import ConfigStr
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
from great_expectations.execution_engine.sqlalchemy_execution_engine import SqlAlchemyExecutionEngine

if TYPE_CHECKING:
    from sqlalchemy.engine import Result

log = logging.getLogger(__name__)

DATASOURCE_TYPE = "duckdb"


def _buffered(result: Any) -> Any:
    """A detached copy of ``result`` that survives its connection, or ``result`` if it has no rows."""
    if getattr(result, "returns_rows", False):
        return result.freeze()()
    return result


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """SqlAlchemyExecutionEngine whose results outlive the DuckDB connection they came from."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # DuckDB speaks PostgreSQL's regex operators (partial match, like Postgres):
        # GX picks the regex SQL by dialect module, and has no branch for duckdb.
        self.dialect_module = sa.dialects.postgresql  # type: ignore[attr-defined]

    @contextmanager
    def _open(self) -> Generator[sa.Connection, None, None]:
        with self.get_connection() as connection:
            yield connection

    def execute_query(self, query: Any) -> Result[Any]:
        with self._open() as connection:
            return _buffered(self._execute_query_with_recovery(connection, query))

    def execute_query_in_transaction(self, query: Any) -> Result[Any]:
        with self._open() as connection:
            result = _buffered(self._execute_query_with_recovery(connection, query))
            if connection.in_transaction():
                connection.commit()
            return result


# DuckDB type names that duckdb-engine's PostgreSQL-derived table lacks or maps to generic types
_ALIASES = {"double": "double precision", "float": "real", "blob": "bytea"}
_EXACT = {"varchar": sa.types.VARCHAR}


def _sqlalchemy_type(engine: sa.Engine, duckdb_type: str) -> Any:
    """SQLAlchemy type instance for a DuckDB type string such as ``DECIMAL(18,3)``."""
    base = re.sub(r"\(.*\)", "", duckdb_type).strip().lower()
    if base.endswith("[]"):
        return sa.types.ARRAY(_sqlalchemy_type(engine, base[:-2]))
    type_class = _EXACT.get(base) or engine.dialect.ischema_names.get(  # type: ignore[attr-defined]
        _ALIASES.get(base, base)
    )
    return type_class() if type_class is not None else sa.types.NullType()


def duckdb_column_metadata(
    engine: sa.Engine, selectable: str | sa.TextClause, schema_name: str | None = None
) -> list[dict[str, Any]]:
    """Columns of a DuckDB table or query as GX expects them: name, SQLAlchemy type, primary_key.

    Uses ``DESCRIBE``, which plans the query without reading a row.
    """
    if isinstance(selectable, sa.TextClause):
        query = sa.text(f"DESCRIBE {selectable.text}")
    else:
        name = str(selectable)
        if schema_name is None and "." in name:
            schema_name, name = name.rsplit(".", 1)
        quote = engine.dialect.identifier_preparer.quote
        qualified = f"{quote(schema_name)}.{quote(name)}" if schema_name else quote(name)
        query = sa.text(f"DESCRIBE SELECT * FROM {qualified}")
    with engine.connect() as connection:
        rows = connection.execute(query).fetchall()
    return [
        {
            "name": row[0],
            "type": _sqlalchemy_type(engine, row[1]),
            "nullable": row[2] == "YES",
            "primary_key": False,
        }
        for row in rows
    ]


def _patch_column_lookup() -> None:
    """Route GX's column reflection for DuckDB engines through :func:`duckdb_column_metadata`.

    duckdb-engine inherits PostgreSQL's inspector; under SQLAlchemy 2.1 its
    ``get_columns`` queries ``pg_catalog.pg_collation``, which DuckDB lacks, so GX
    falls back to ``SELECT * FROM <table> LIMIT 1`` *without the schema name*:
    tables outside ``main`` are "not found" and no column types are known.
    Other engines are untouched.
    """
    from great_expectations.expectations.metrics import util as gx_util
    from great_expectations.expectations.metrics.table_metrics import table_column_types

    original = gx_util.get_sqlalchemy_column_metadata
    if getattr(original, "_purpose_lineage", False):
        return

    def get_sqlalchemy_column_metadata(
        execution_engine: SqlAlchemyExecutionEngine,
        table_selectable: Any,
        schema_name: str | None = None,
    ) -> Sequence[Mapping[str, Any]] | None:
        if not isinstance(execution_engine, DuckDBExecutionEngine):
            return original(execution_engine, table_selectable, schema_name)
        return duckdb_column_metadata(execution_engine.engine, table_selectable, schema_name)

    get_sqlalchemy_column_metadata._purpose_lineage = True  # type: ignore[attr-defined]
    gx_util.get_sqlalchemy_column_metadata = get_sqlalchemy_column_metadata
    # the metric module bound the function at import time
    table_column_types.get_sqlalchemy_column_metadata = get_sqlalchemy_column_metadata  # type: ignore[attr-defined]


class DuckDBDatasource(SQLDatasource):
    """Fluent GX datasource for DuckDB files (``duckdb:///path/to/file.duckdb``).

    Args:
        name: The name of this datasource.
        connection_string: A duckdb-engine SQLAlchemy URL.
    """

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]
    connection_string: ConfigStr | str  # type: ignore[assignment]  # "${ENV_VAR}" is substituted

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine


_patch_column_lookup()
