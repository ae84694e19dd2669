"""column_lineage_facet(): OpenLineage ColumnLineageDatasetFacet 1-2-0, validated against its schema."""

from __future__ import annotations

import copy
import doctest
import json
from pathlib import Path

import jsonschema
import pytest
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.serde import Serde
from referencing import Registry, Resource

from purpose_lineage.core.lineage import analyze
from purpose_lineage.ol import column_lineage
from purpose_lineage.ol.column_lineage import column_lineage_facet

SCHEMAS = Path(__file__).resolve().parents[2] / "fixtures" / "openlineage"
FACET_URL = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
SOCIAL = {
    "users_2fa": ["user_id", "phone_number"],
    "advertiser_list": ["campaign_id", "phone", "phone_sha256"],
    "ad_audience": ["campaign_id", "user_id"],
}
INCIDENT = (
    "INSERT INTO ad_audience SELECT a.campaign_id, u.user_id FROM advertiser_list a "
    "JOIN users_2fa u ON a.phone_sha256 = sha256(u.phone_number)"
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    registry = Registry().with_resources(resources)
    schema = {"$ref": f"{FACET_URL}#/$defs/ColumnLineageDatasetFacet"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _facet(sql: str, **kw) -> cl.ColumnLineageDatasetFacet:
    [st] = analyze(sql, **kw)
    return column_lineage_facet(st, "duckdb://warehouse")


def test_incident_facet_has_join_key_with_masking() -> None:
    facet = _facet(INCIDENT, dialect="duckdb", schema=SOCIAL)
    assert list(facet.fields) == ["campaign_id", "user_id"]
    identity = [cl.Transformation(type="DIRECT", subtype="IDENTITY", masking=False)]
    masked_join = [cl.Transformation(type="INDIRECT", subtype="JOIN", masking=True)]
    plain_join = [cl.Transformation(type="INDIRECT", subtype="JOIN", masking=False)]
    user_id = {(f.name, f.field): f.transformations for f in facet.fields["user_id"].inputFields}
    assert user_id[("users_2fa", "user_id")] == identity
    assert user_id[("users_2fa", "phone_number")] == masked_join
    dataset = {(f.name, f.field): f.transformations for f in facet.dataset}
    assert dataset == {
        ("advertiser_list", "phone_sha256"): plain_join,
        ("users_2fa", "phone_number"): masked_join,
    }
    assert all(f.namespace == "duckdb://warehouse" for f in facet.dataset)


def test_one_input_field_carries_every_subtype() -> None:
    facet = _facet("SELECT u.id FROM users u WHERE u.phone IN (SELECT p FROM adv)")
    phone = [f for f in facet.fields["id"].inputFields if f.field == "phone"]
    subtypes = [(t.type, t.subtype) for t in phone[0].transformations]
    assert subtypes == [("INDIRECT", "FILTER"), ("INDIRECT", "JOIN")]


@pytest.mark.parametrize(
    "sql",
    [
        INCIDENT,
        "SELECT a, CASE WHEN b THEN c END AS x, rank() OVER (PARTITION BY d ORDER BY e) AS r FROM t "
        "WHERE f GROUP BY 1",
        "SELECT * FROM t",  # unknown star: an empty facet is still a valid facet
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = md5(s.v)",
    ],
)
def test_facet_json_validates_against_the_1_2_0_schema(sql: str, validator) -> None:
    facet = _facet(sql, dialect="duckdb", schema=SOCIAL)
    document = Serde.to_dict(facet)
    assert document["_schemaURL"].startswith(FACET_URL)
    validator.validate(document)


def test_schema_rejects_a_transformation_without_type(validator) -> None:
    document = Serde.to_dict(_facet(INCIDENT, dialect="duckdb", schema=SOCIAL))
    broken = copy.deepcopy(document)
    del broken["dataset"][0]["transformations"][0]["type"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)
    broken = copy.deepcopy(document)
    broken["fields"]["user_id"]["inputFields"][0]["transformations"][0]["masking"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_doctests() -> None:
    assert doctest.testmod(column_lineage).failed == 0
