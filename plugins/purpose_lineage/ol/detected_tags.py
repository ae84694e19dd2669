"""Detected tags as OpenLineage ``TagsDatasetFacet`` (one per dataset).

Same convention as every other tag this package emits (:func:`purpose_lineage.ol.facets.tags_facet`):
per field a ``purpose`` tag (``unknown`` for detected columns) and a ``data_category`` tag,
with ``source`` = ``"detected"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from openlineage.client.generated.tags_dataset import TagsDatasetFacet

from purpose_lineage.core.model import Tag, TagSource
from purpose_lineage.ol.facets import tags_facet


def detected_tags_facet(tags: Iterable[Tag]) -> TagsDatasetFacet:
    """One facet holding every detected tag given (callers pass the tags of one dataset).

    >>> from purpose_lineage.core.model import ColumnRef
    >>> t = Tag(ColumnRef("main.users", "phone"), "user.contact.phone_number", "unknown", TagSource.DETECTED)
    >>> [(f.key, f.value, f.source) for f in detected_tags_facet([t]).tags]
    [('data_category', 'user.contact.phone_number', 'detected'), ('purpose', 'unknown', 'detected')]
    """
    return tags_facet(t for t in tags if t.source == TagSource.DETECTED)


def detected_tags_facets(tags: Iterable[Tag]) -> dict[str, TagsDatasetFacet]:
    """Detected tags grouped into one facet per dataset (table name -> facet)."""
    by_table: dict[str, list[Tag]] = {}
    for t in tags:
        by_table.setdefault(t.column.table, []).append(t)
    return {table: detected_tags_facet(ts) for table, ts in sorted(by_table.items())}
