"""A common-sql hook for DuckDB files, so every common-sql operator works on the embedded warehouse.

Connection: ``conn_type="duckdb"``, ``host`` = path of the database file (``:memory:`` allowed),
e.g. ``AIRFLOW_CONN_WAREHOUSE='{"conn_type": "duckdb", "host": "/data/warehouse.duckdb"}'``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow.providers.common.sql.hooks.sql import DbApiHook


class DuckDBHook(DbApiHook):
    conn_name_attr = "duckdb_conn_id"
    default_conn_name = "duckdb_default"
    conn_type = "duckdb"
    hook_name = "DuckDB"
    supports_autocommit = False
    _placeholder = "?"  # DuckDB binds ? (insert_rows and friends use this)

    def __init__(self, *args: Any, database: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._database = database
        self._shared: Any = None

    @property
    def database_path(self) -> str:
        if self._database:
            return self._database
        conn = self.get_connection(self.get_conn_id())
        return conn.host or conn.schema or ":memory:"

    def get_conn(self) -> Any:
        import duckdb

        if self._shared is not None:
            return self._shared.cursor()  # same database instance; closing it keeps the file open
        return duckdb.connect(self.database_path)

    @contextlib.contextmanager
    def shared_connection(self) -> Iterator[Any]:
        """Inside, every :meth:`get_conn` is a cursor of one connection: the file is opened once.

        Yields that connection (to lend its database instance, e.g. to the lineage store).

        Opening a DuckDB file costs a database start and, after writes, a checkpoint on close
        (tens of ms); a transform task runs its SQL and then reads the catalog. The connection
        is closed on exit, so that code opening the file with another configuration later in
        the same process (GX) is not refused.
        """
        if self._shared is not None:
            yield self._shared
            return
        import duckdb

        self._shared = duckdb.connect(self.database_path)
        try:
            yield self._shared
        finally:
            shared, self._shared = self._shared, None
            shared.close()

    def get_uri(self) -> str:
        return f"duckdb:///{self.database_path}"

    @property
    def dialect_name(self) -> str:
        return "duckdb"

    def get_openlineage_database_dialect(self, connection: Any) -> str:
        return "duckdb"

    def get_openlineage_default_schema(self) -> str | None:
        return "main"

    @property
    def openlineage_namespace(self) -> str:
        return f"duckdb://{Path(self.database_path).stem}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["port", "login", "password", "schema", "extra"],
            "relabeling": {"host": "Database file"},
        }
