"""Build the OperatorLineage our operators hand to Airflow's OpenLineage provider.

Imported only when the provider asks, so tasks without OpenLineage never load it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from purpose_lineage.operators.tracing import TraceResult, analyze_sql

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

log = logging.getLogger(__name__)


def namespace_of(hook: Any) -> str:
    """OpenLineage namespace of a common-sql hook: ``duckdb://<db>``, ``postgres://host:port``."""
    explicit = getattr(hook, "openlineage_namespace", None)
    if explicit:
        return str(explicit)
    conn = hook.get_connection(hook.get_conn_id())
    scheme = "postgres" if conn.conn_type in ("postgres", "postgresql") else conn.conn_type
    return f"{scheme}://{conn.host}:{conn.port or 5432}"


def dataset_name(hook: Any, table: str) -> str:
    """Dataset names are the store's table names (``schema.table``), so events and store agree."""
    return table


def lineage_from_sql(op: Any, result: TraceResult | None) -> OperatorLineage:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset

    from purpose_lineage.ol.column_lineage import column_lineage_facet
    from purpose_lineage.ol.facets import VERDICT_FACET_KEY, schema_facet, tags_facet, verdict_facet

    hook = op.get_db_hook()
    namespace = namespace_of(hook)
    if result is None:  # on start: names from the SQL alone (kept for execute when the operator can)
        start = getattr(op, "start_analysis", None)
        statements = (
            start()
            if start is not None
            else analyze_sql(op.sql, dialect=op.sql_dialect, default_schema=op.default_schema)
        )
        result = TraceResult(statements)
    tags_in = _by_table(result.input_tags)
    tags_out = _by_table(result.output_tags)

    def facets(table: str, tags: dict) -> dict:
        out: dict[str, Any] = {}
        if result.columns.get(table):
            out["schema"] = schema_facet(result.columns[table])
        if tags.get(table):
            out["tags"] = tags_facet(tags[table])
        return out

    inputs = [
        Dataset(namespace=namespace, name=dataset_name(hook, t), facets=facets(t, tags_in))
        for t in result.inputs
    ]
    outputs = []
    for statement in result.statements:
        if not statement.output or statement.output not in result.outputs:
            continue
        out_facets = facets(statement.output, tags_out)
        if statement.edges:
            out_facets["columnLineage"] = column_lineage_facet(statement, namespace)
        outputs.append(
            Dataset(namespace=namespace, name=dataset_name(hook, statement.output), facets=out_facets)
        )
    run_facets = {}
    if result.columns:  # completed: the verdict is known
        run_facets[VERDICT_FACET_KEY] = verdict_facet(result.violations, unknowns=len(result.unknowns))
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _by_table(tags: Any) -> dict[str, list]:
    out: dict[str, list] = {}
    for tag in tags:
        out.setdefault(tag.column.table, []).append(tag)
    return out
