"""findings_to_tags and the OpenLineage TagsDatasetFacet of detected tags."""

from __future__ import annotations

import json

import pytest
from openlineage.client.serde import Serde

from purpose_lineage.core.model import ColumnRef, Tag, TagSource
from purpose_lineage.detect.model import EMAIL_CATEGORY, PHONE_CATEGORY, DetectedClass, Finding
from purpose_lineage.detect.tags import UNKNOWN_PURPOSE, findings_to_tags
from purpose_lineage.ol.detected_tags import detected_tags_facet, detected_tags_facets

FINDINGS = [
    Finding('"Main"."Users"', "Phone", DetectedClass.PHONE, 0.97, category=PHONE_CATEGORY),
    Finding("main.users", "email", DetectedClass.EMAIL, 0.99, category=EMAIL_CATEGORY),
    Finding("main.users", "notes", DetectedClass.NONE, 0.99),
    Finding("main.orders", "buyer", DetectedClass.EMAIL, 0.42, category=EMAIL_CATEGORY),
    Finding("main.orders", "phone", DetectedClass.PHONE, 0.9, category=PHONE_CATEGORY),
]


def test_tag_mode_tags_confident_identifier_findings_with_unknown_purpose():
    assert UNKNOWN_PURPOSE == "unknown"
    assert findings_to_tags(FINDINGS) == [
        Tag(ColumnRef("main.users", "phone"), PHONE_CATEGORY, "unknown", TagSource.DETECTED),
        Tag(ColumnRef("main.users", "email"), EMAIL_CATEGORY, "unknown", TagSource.DETECTED),
        Tag(ColumnRef("main.orders", "phone"), PHONE_CATEGORY, "unknown", TagSource.DETECTED),
    ]


def test_report_mode_tags_nothing():
    assert findings_to_tags(FINDINGS, mode="report") == []


def test_already_tagged_columns_keep_their_declared_tag():
    declared = Tag(ColumnRef("main.users", "phone"), PHONE_CATEGORY, "essential.service.security")
    tags = findings_to_tags(FINDINGS, existing=[declared])
    assert ColumnRef("main.users", "phone") not in {t.column for t in tags}
    assert len(tags) == 2


def test_bad_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="mode must be one of tag, report"):
        findings_to_tags(FINDINGS, mode="auto")  # type: ignore[arg-type]


def test_openlineage_facet_round_trips_through_serde():
    tags = findings_to_tags(FINDINGS)
    facets = detected_tags_facets(tags)
    assert sorted(facets) == ["main.orders", "main.users"]
    doc = json.loads(Serde.to_json(facets["main.users"]))
    assert doc["tags"] == [
        {"key": "data_category", "value": EMAIL_CATEGORY, "source": "detected", "field": "email"},
        {"key": "purpose", "value": "unknown", "source": "detected", "field": "email"},
        {"key": "data_category", "value": PHONE_CATEGORY, "source": "detected", "field": "phone"},
        {"key": "purpose", "value": "unknown", "source": "detected", "field": "phone"},
    ]
    assert doc["_schemaURL"].endswith("TagsDatasetFacet.json#/$defs/TagsDatasetFacet")


def test_facet_ignores_declared_tags():
    declared = Tag(ColumnRef("main.users", "phone"), PHONE_CATEGORY, "essential.service.security")
    assert detected_tags_facet([declared]).tags == []


def test_scan_records_detected_tags_in_the_store(tmp_path):
    import duckdb

    from purpose_lineage.cli import main
    from purpose_lineage.store import open_store

    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "CREATE TABLE contacts AS SELECT 'person' || i || '@example.com' AS contact, i AS n "
            "FROM range(200) t(i)"
        )
    store_url = f"duckdb:///{tmp_path / 'store.duckdb'}"
    assert main(["scan", "--db", f"duckdb:///{warehouse}", "--no-progress", "--store", store_url]) == 0
    tags = open_store(store_url).tags_for(["main.contacts"])
    assert [(t.column.column, t.category, t.purpose, t.source.value) for t in tags] == [
        ("contact", EMAIL_CATEGORY, "unknown", "detected")
    ]
