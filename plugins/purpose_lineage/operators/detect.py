"""Find untagged contact identifiers in warehouse tables and tag them (purpose ``unknown``).

Sampling and the cheap prefilter run inside the warehouse; only a bounded sample is
validated in Python. Under the default policy an ``unknown`` purpose is forbidden for ad
sinks, so a detected phone column fails closed until someone declares why it was collected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.common.sql.operators.sql import BaseSQLOperator

from purpose_lineage.operators.collaborators import PolicyAndStore

if TYPE_CHECKING:
    from airflow.sdk import Context

    from purpose_lineage.core.model import Tag


class DetectIdentifiersOperator(PolicyAndStore, BaseSQLOperator):
    """Scan tables for phone numbers, emails and hashed identifiers.

    :param conn_id: warehouse connection (DuckDB or PostgreSQL).
    :param tables: tables to scan (default: all).
    :param mode: ``tag`` records detected tags in the lineage store; ``report`` only reports.
    :param sample_rows: rows sampled per table.
    """

    template_fields: Sequence[str] = ("conn_id", "tables")
    ui_color = "#fef9c3"

    def __init__(
        self,
        *,
        conn_id: str,
        tables: Sequence[str] | None = None,
        mode: Literal["tag", "report"] = "tag",
        sample_rows: int = 10_000,
        store_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.tables = list(tables) if tables else None
        self.mode = mode
        self.sample_rows = sample_rows
        self.store_url = store_url
        self._tags: list[Tag] = []

    def execute(self, context: Context) -> dict:
        from purpose_lineage.detect.scan import scan
        from purpose_lineage.detect.tags import findings_to_tags

        report = scan(self.get_db_hook().get_uri(), tables=self.tables, sample_rows=self.sample_rows)
        existing = self.store.tags_for({f.table for f in report.findings})
        self._tags = findings_to_tags(report.findings, self.mode, existing=existing)
        if self._tags:
            self.store.record_tags(self._tags)
        found = sorted(f"{f.table}.{f.column}:{f.detected.value}" for f in report.identifiers)
        self.log.info(
            "Detected %d identifier columns (%s); %d new tags", len(found), ", ".join(found), len(self._tags)
        )
        return {"identifier_columns": found, "tagged": len(self._tags), "tables": len(report.tables)}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import Dataset

        from purpose_lineage.ol.detected_tags import detected_tags_facets
        from purpose_lineage.operators.openlineage import namespace_of

        namespace = namespace_of(self.get_db_hook())
        return OperatorLineage(
            inputs=[
                Dataset(namespace=namespace, name=table, facets={"tags": facet})
                for table, facet in detected_tags_facets(self._tags).items()
            ]
        )
