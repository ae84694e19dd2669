"""Detected tags as OpenLineage ``TagsDatasetFacet`` (one per dataset).

Each column tag becomes one facet field: ``key`` = data category, ``value`` = purpose
(``unknown`` for detected tags), ``source`` = ``"detected"``, ``field`` = column.
"""

from __future__ import annotations

from collections.abc import Iterable

from openlineage.client.facet_v2 import tags_dataset

from purpose_lineage.core.model import Tag, TagSource

DETECTED_SOURCE = TagSource.DETECTED.value


def detected_tags_facet(tags: Iterable[Tag]) -> tags_dataset.TagsDatasetFacet:
    """One facet holding every detected tag given (callers pass the tags of one dataset).

    >>> from purpose_lineage.core.model import ColumnRef
    >>> t = Tag(ColumnRef("main.users", "phone"), "user.contact.phone_number", "unknown", TagSource.DETECTED)
    >>> f = detected_tags_facet([t]).tags[0]
    >>> (f.key, f.value, f.source, f.field)
    ('user.contact.phone_number', 'unknown', 'detected', 'phone')
    """
    fields = [
        tags_dataset.TagsDatasetFacetFields(
            key=t.category, value=t.purpose, source=DETECTED_SOURCE, field=t.column.column
        )
        for t in tags
        if t.source == TagSource.DETECTED
    ]
    return tags_dataset.TagsDatasetFacet(tags=fields)


def detected_tags_facets(tags: Iterable[Tag]) -> dict[str, tags_dataset.TagsDatasetFacet]:
    """Detected tags grouped into one facet per dataset (table name -> facet)."""
    by_table: dict[str, list[Tag]] = {}
    for t in tags:
        by_table.setdefault(t.column.table, []).append(t)
    return {table: detected_tags_facet(ts) for table, ts in sorted(by_table.items())}
