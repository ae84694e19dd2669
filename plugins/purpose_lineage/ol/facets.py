"""Model objects to OpenLineage facets: standard facets first, one custom run facet.

- ``TagsDatasetFacet``: a ``purpose`` and a ``data_category`` tag per field, with the
  tag's provenance (declared, detected, propagated) as ``source``.
- ``SchemaDatasetFacet`` for inputs and outputs.
- ``PurposeVerdictRunFacet``: the run's verdict; its JSON schema ships in
  ``ol/schemas/PurposeVerdictRunFacet.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attr
from openlineage.client.generated.base import RunFacet
from openlineage.client.generated.schema_dataset import SchemaDatasetFacet, SchemaDatasetFacetFields
from openlineage.client.generated.tags_dataset import TagsDatasetFacet, TagsDatasetFacetFields

from purpose_lineage.core.model import Tag, Violation

VERDICT_FACET_KEY = "purposeVerdict"
VERDICT_SCHEMA_URL = (
    "https://github.com/airflow-purpose-lineage/airflow-purpose-lineage/blob/main/"
    "docs/reference/schemas/PurposeVerdictRunFacet.json#/$defs/PurposeVerdictRunFacet"
)


@attr.define
class PurposeVerdictRunFacet(RunFacet):
    """The purpose verdict of a run. Carries metadata only, never data values."""

    verdict: str = attr.field(validator=attr.validators.in_(("pass", "fail", "unknown")))
    violations: list[dict] = attr.field(factory=list)
    policy: str | None = attr.field(default=None)
    unknowns: int = attr.field(default=0)
    affectedIdentifiers: int | None = attr.field(default=None)  # noqa: N815 - OpenLineage camelCase

    @staticmethod
    def _get_schema() -> str:
        return VERDICT_SCHEMA_URL


def violation_to_dict(v: Violation) -> dict:
    return {
        "rule": v.rule,
        "sink": v.sink,
        "sinkColumn": v.sink_column,
        "source": v.source,
        "sourceColumn": v.source_column,
        "purpose": v.purpose,
        "category": v.category,
        "path": [{"table": h.table, "column": h.column, "edge": h.edge} for h in v.path],
    }


def verdict_facet(
    violations: Sequence[Violation],
    *,
    unknowns: int = 0,
    policy: str | None = None,
    affected: int | None = None,
) -> PurposeVerdictRunFacet:
    verdict = "fail" if violations else ("unknown" if unknowns else "pass")
    return PurposeVerdictRunFacet(
        verdict=verdict,
        violations=[violation_to_dict(v) for v in violations],
        policy=policy,
        unknowns=unknowns,
        affectedIdentifiers=affected,
    )


def tags_facet(tags: Iterable[Tag]) -> TagsDatasetFacet:
    """Two tags per tagged field: ``purpose`` and ``data_category``; duplicates collapse."""
    seen: dict[tuple[str, str, str, str], None] = {}
    for tag in tags:
        field = tag.column.column or ""
        seen[(field, "purpose", tag.purpose, tag.source.value)] = None
        seen[(field, "data_category", tag.category, tag.source.value)] = None
    return TagsDatasetFacet(
        tags=[
            TagsDatasetFacetFields(key=key, value=value, source=source, field=field or None)
            for field, key, value, source in sorted(seen)
        ]
    )


def schema_facet(columns: Sequence[tuple[str, str | None]]) -> SchemaDatasetFacet:
    return SchemaDatasetFacet(
        fields=[SchemaDatasetFacetFields(name=name, type=type_ or None) for name, type_ in columns]
    )
