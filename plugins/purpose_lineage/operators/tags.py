"""Declare what a table's columns are and what they were collected for.

Python API::

    declare_tags("main.users_2fa", {
        "phone_number": ("user.contact.phone_number", "essential.service.security"),
        "email": {"category": "user.contact.email", "purpose": "essential.service.authentication"},
    })

Operator: ``DeclarePurposeOperator(task_id=..., table=..., columns={...})``; it also records
tags carried by its outlets' Asset ``extra`` (see :mod:`purpose_lineage.assets`).
Keys are checked against the policy's taxonomy (fideslang plus the policy's custom keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from purpose_lineage.core.model import ColumnRef, Tag, TagSource, normalize_table
from purpose_lineage.operators.collaborators import PolicyAndStore

if TYPE_CHECKING:
    from airflow.sdk import Context

    from purpose_lineage.core.policy import Policy
    from purpose_lineage.store.base import LineageStore

ColumnSpec = Mapping[str, Any] | Sequence[str]


def build_tags(
    table: str,
    columns: Mapping[str, ColumnSpec],
    *,
    source: TagSource | str = TagSource.DECLARED,
    run_id: str | None = None,
) -> list[Tag]:
    """Tags from ``{column: (category, purpose)}`` or ``{column: {"category":..., "purpose":...}}``."""
    tags = []
    for column, spec in columns.items():
        if isinstance(spec, Mapping):
            missing = {"category", "purpose"} - set(spec)
            if missing:
                raise ValueError(f"{table}.{column}: tag needs {sorted(missing)}")
            category, purpose = spec["category"], spec["purpose"]
        else:
            category, purpose = spec
        tags.append(
            Tag(
                ColumnRef(normalize_table(table), column.lower()),
                category,
                purpose,
                TagSource(source),
                run_id=run_id,
            )
        )
    return tags


def validate_tags(tags: Iterable[Tag], policy: Policy) -> None:
    """Raise TaxonomyError naming the nearest valid key for any unknown category or purpose."""
    from purpose_lineage.core.policy import UNKNOWN_PURPOSE

    taxonomy = policy.taxonomy
    for tag in tags:
        taxonomy.require("data_category", tag.category)
        if tag.purpose != UNKNOWN_PURPOSE:
            taxonomy.require("data_use", tag.purpose)


def declare_tags(
    table: str,
    columns: Mapping[str, ColumnSpec],
    *,
    store: LineageStore | None = None,
    policy: Policy | None = None,
    source: TagSource | str = TagSource.DECLARED,
    run_id: str | None = None,
) -> list[Tag]:
    """Validate and record tags for ``table``'s columns; returns the tags recorded."""
    from purpose_lineage import config
    from purpose_lineage.core.policy import load_policy
    from purpose_lineage.store import open_store

    tags = build_tags(table, columns, source=source, run_id=run_id)
    validate_tags(tags, policy or load_policy(config.policy_file() or None))
    target = store or open_store(config.store_url(), spool_dir=config.spool_dir())
    target.record_tags(tags)
    return tags


class DeclarePurposeOperator(PolicyAndStore, BaseOperator):
    """Record declared purpose tags for a table's columns (and for Asset outlets carrying tags).

    :param table: the table, e.g. ``main.users_2fa``.
    :param columns: ``{column: (category, purpose)}`` or ``{column: {"category":..., "purpose":...}}``.
    """

    template_fields: Sequence[str] = ("table",)
    ui_color = "#ede9fe"

    def __init__(
        self,
        *,
        table: str | None = None,
        columns: Mapping[str, ColumnSpec] | None = None,
        namespace: str = "duckdb://warehouse",
        policy_file: str | None = None,
        store_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.namespace = namespace
        self.table = table
        self.columns = dict(columns or {})
        self.policy_file = policy_file
        self.store_url = store_url
        self._tags: list[Tag] = []

    def execute(self, context: Context) -> dict:
        from purpose_lineage.assets import tags_from_asset

        run_id = f"{context['ti'].dag_id}/{context['ti'].run_id}/{self.task_id}"
        tags = build_tags(self.table, self.columns, run_id=run_id) if self.table else []
        for outlet in self.outlets or []:
            tags.extend(tags_from_asset(outlet))
        if not tags:
            raise ValueError("DeclarePurposeOperator needs `table` and `columns`, or Asset outlets with tags")
        validate_tags(tags, self.policy)
        self.store.record_tags(tags)
        self._tags = tags
        self.log.info("Declared %d purpose tags on %s", len(tags), sorted({t.column.table for t in tags}))
        return {"tags": len(tags), "tables": sorted({t.column.table for t in tags})}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import Dataset

        from purpose_lineage.ol.facets import tags_facet

        by_table: dict[str, list[Tag]] = {}
        for tag in self._tags:
            by_table.setdefault(tag.column.table, []).append(tag)
        namespace = self.namespace
        for outlet in self.outlets or []:
            if getattr(outlet, "uri", "").startswith("duckdb://"):
                namespace = "duckdb://" + outlet.uri.split("/")[2]
        return OperatorLineage(
            outputs=[
                Dataset(namespace=namespace, name=t, facets={"tags": tags_facet(tags)})
                for t, tags in by_table.items()
            ]
        )
