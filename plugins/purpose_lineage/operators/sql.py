"""Transform operators that run SQL and trace what it does to purposes.

``PurposeSQLOperator`` works over any common-sql hook (DuckDB, PostgreSQL, ...);
``DuckDBPurposeOperator`` is the same with DuckDB defaults. Each one runs the SQL,
extracts column lineage (indirect edges included), propagates purposes from the
store's tags of its inputs, records edges and tags in the store, and reports all of it
to Airflow's OpenLineage provider.

Usage::

    PurposeSQLOperator(
        task_id="match_advertiser_list",
        conn_id="warehouse",
        sql="CREATE TABLE ad_audience_acme__staging AS SELECT ...",
    )
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.operators.sql import BaseSQLOperator

from purpose_lineage.operators.collaborators import PolicyAndStore
from purpose_lineage.operators.tracing import DEFAULT_SCHEMAS, SQLGLOT_DIALECTS, TraceResult

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

    from purpose_lineage.core.model import StatementLineage


log = logging.getLogger(__name__)


class PurposeSQLOperator(PolicyAndStore, BaseSQLOperator):
    """Run a SQL transform and trace purposes through it.

    :param sql: the statement(s) to run (templated; a ``.sql`` file path works too).
    :param conn_id: a common-sql connection (``duckdb``, ``postgres``, ...).
    :param dialect: sqlglot dialect; defaults to the hook's.
    :param policy_file: policy YAML; defaults to ``[purpose_lineage] policy_file`` or the shipped policy.
    :param store_url: lineage store; defaults to ``[purpose_lineage] store_url``.
    """

    template_fields: Sequence[str] = ("sql", "conn_id", "hook_params")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql"}
    ui_color = "#f3e8ff"

    def __init__(
        self,
        *,
        sql: str,
        conn_id: str,
        dialect: str | None = None,
        policy_file: str | None = None,
        store_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.sql = sql
        self.dialect = dialect
        self.policy_file = policy_file
        self.store_url = store_url
        self._result: TraceResult | None = None
        self._start_analysis: tuple[tuple, tuple[StatementLineage, ...]] | None = None

    # -- collaborators -----------------------------------------------------------------

    @property
    def sql_dialect(self) -> str:
        if self.dialect:
            return self.dialect
        name = getattr(self.get_db_hook(), "dialect_name", "") or ""
        return SQLGLOT_DIALECTS.get(name, name or "postgres")

    @property
    def default_schema(self) -> str | None:
        return DEFAULT_SCHEMAS.get(self.sql_dialect)

    # -- execution ---------------------------------------------------------------------

    def execute(self, context: Context) -> dict:
        from purpose_lineage.operators.tracing import analyze_sql

        hook = self.get_db_hook()
        self.log.info("Running transform on %s", self.conn_id)
        # one open of the warehouse for the SQL, the catalog read and (DuckDB) the store session
        with getattr(hook, "shared_connection", contextlib.nullcontext)() as shared:
            hook.run(self.sql)
            first = self._take_start_analysis() or analyze_sql(
                self.sql, dialect=self.sql_dialect, default_schema=self.default_schema
            )
            tables = {t for s in first for t in (*s.inputs, s.output) if t}
            columns = read_columns(hook, tables, self.default_schema)
            statements = first
            if any(st.unknowns for st in first):  # a catalog resolves `*` and unqualified columns
                statements = analyze_sql(
                    self.sql,
                    dialect=self.sql_dialect,
                    catalog={t: [c for c, _ in cols] for t, cols in columns.items()},
                    default_schema=self.default_schema,
                )
            with self.store.attached_to(shared):
                self._trace_and_record(context, statements, columns)
        for unknown in self._result.unknowns:
            self.log.warning(
                "Lineage unknown: %s (table=%s column=%s)", unknown.reason, unknown.table, unknown.column
            )
        summary = self._result.summary()
        self.log.info("Purpose trace: %s", summary)
        return summary

    def _trace_and_record(
        self,
        context: Context,
        statements: tuple[StatementLineage, ...],
        columns: dict[str, list[tuple[str, str | None]]],
    ) -> None:
        from purpose_lineage.operators.current import constraint_edges, current_lineage, unknown_edges
        from purpose_lineage.operators.tracing import trace
        from purpose_lineage.store.base import DatasetInfo, RunInfo

        ti = context["ti"]
        run_id = f"{ti.dag_id}/{ti.run_id}/{ti.task_id}"
        inputs = sorted({t for st in statements for t in st.inputs} - {st.output for st in statements})
        # one store session (lock, open, close) for the upstream read and the write
        with self.store.session():
            upstream = current_lineage(self.store, inputs)
            result = trace(
                statements,
                upstream_edges=upstream.edges,
                upstream_tags=upstream.tags,
                upstream_constraints=upstream.constraints,
                policy=self.policy,
                run_id=run_id,
            )
            self._result = dataclasses.replace(result, columns=columns)
            run = RunInfo(
                run_id=run_id,
                event_type="COMPLETE",
                event_time=ti.start_date,
                job_name=f"{ti.dag_id}.{ti.task_id}",
                dag_id=ti.dag_id,
                task_id=ti.task_id,
            )
            self.store.record_lineage(
                run,
                edges=[
                    *self._result.edges,
                    *constraint_edges(statements),
                    *unknown_edges(statements, columns),
                ],
                tags=self._result.output_tags,
                datasets=[DatasetInfo(t, tuple(c for c, _ in cols)) for t, cols in columns.items()],
                inputs=self._result.inputs,
                outputs=self._result.outputs,
            )

    # -- analysis shared by the OpenLineage start event and execute -------------------

    def start_analysis(self) -> tuple[StatementLineage, ...]:
        """The SQL's lineage without a catalog, kept for :meth:`execute` (which then need not parse)."""
        from purpose_lineage.operators.tracing import analyze_sql

        key = (self.sql, self.sql_dialect, self.default_schema)
        statements = analyze_sql(self.sql, dialect=key[1], default_schema=key[2])
        self._start_analysis = (key, statements)
        return statements

    def _take_start_analysis(self) -> tuple[StatementLineage, ...] | None:
        # used once: a later try of the task parses again
        kept, self._start_analysis = self._start_analysis, None
        if kept is None or kept[0] != (self.sql, self.sql_dialect, self.default_schema):
            return None
        return kept[1]

    # -- OpenLineage -------------------------------------------------------------------

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        from purpose_lineage.operators.openlineage import lineage_from_sql

        return lineage_from_sql(self, None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        from purpose_lineage.operators.openlineage import lineage_from_sql

        return lineage_from_sql(self, self._result)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        return self.get_openlineage_facets_on_complete(task_instance)


class DuckDBPurposeOperator(PurposeSQLOperator):
    """:class:`PurposeSQLOperator` for the embedded DuckDB warehouse (connection ``duckdb_default``)."""

    def __init__(self, *, sql: str, conn_id: str = "duckdb_default", **kwargs: Any) -> None:
        kwargs.setdefault("dialect", "duckdb")
        super().__init__(sql=sql, conn_id=conn_id, **kwargs)


def read_columns(
    hook: DbApiHook, tables: set[str], default_schema: str | None
) -> dict[str, list[tuple[str, str | None]]]:
    """Columns and types of ``tables`` from the warehouse's catalog (bound parameters)."""
    if not tables:
        return {}
    wanted: dict[tuple[str, str], str] = {}
    for table in tables:
        parts = table.split(".")
        schema, name = (parts[-2], parts[-1]) if len(parts) > 1 else (default_schema or "", parts[-1])
        wanted[(schema, name)] = table
    if hook.dialect_name == "duckdb":
        return _duckdb_columns(hook, wanted)
    names = sorted({n for _, n in wanted})
    sql = (
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        f"WHERE lower(table_name) IN ({', '.join(['%s'] * len(names))}) "
        "ORDER BY table_schema, table_name, ordinal_position"
    )
    # a plain DB-API cursor: hook.get_records would log the query and report it as hook lineage
    with contextlib.closing(hook.get_conn()) as conn, contextlib.closing(conn.cursor()) as cursor:
        cursor.execute(sql, names)
        rows = cursor.fetchall()
    found: dict[str, list[tuple[str, str | None]]] = {}
    for schema, name, column, type_ in rows:
        key = wanted.get((schema.lower(), name.lower()))
        if key is not None:
            found.setdefault(key, []).append((column.lower(), type_))
    return found


def _duckdb_columns(
    hook: DbApiHook, wanted: dict[tuple[str, str], str]
) -> dict[str, list[tuple[str, str | None]]]:
    # One small query per table: DuckDB's catalog views (information_schema, duckdb_columns)
    # first load the storage metadata of every table in the file, ~15 ms on a small warehouse.
    import duckdb

    found: dict[str, list[tuple[str, str | None]]] = {}
    with contextlib.closing(hook.get_conn()) as conn:
        for (schema, name), key in sorted(wanted.items()):
            ref = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, name) if part)
            try:
                rows = conn.execute("SELECT name, type FROM pragma_table_info(?)", [ref]).fetchall()
            except duckdb.CatalogException:
                continue  # not there (yet): the analysis goes without it, as before
            if rows:
                found[key] = [(str(column).lower(), type_) for column, type_ in rows]
    return found
