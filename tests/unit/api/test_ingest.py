"""POST /api/v1/lineage: OpenLineage events in, lineage with purposes out."""

from __future__ import annotations

import copy
import gzip
import json

import pytest
from ol_samples import API_KEY, PG, as_dict, incident_event

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource
from purpose_lineage.store.base import Assertion, DatasetInfo

URL = "/api/v1/lineage"
RUN_ID = "01970000-0000-7000-8000-000000000001"


def test_run_event_is_stored_with_transformations_tags_and_assertions(client, api_store):
    r = client.post(URL, json=as_dict(incident_event()))
    assert r.status_code == 201, r.text
    assert r.json() == {"status": "stored", "run_id": RUN_ID}
    assert api_store.edges() == sorted(
        [
            Edge(
                ColumnRef("auth.users_2fa", "user_id"), ColumnRef("ads.audience", "user_id"), Subtype.IDENTITY
            ),
            Edge(
                ColumnRef("ads.uploaded_phones", "advertiser_id"),
                ColumnRef("ads.audience", "advertiser_id"),
                Subtype.IDENTITY,
            ),
            Edge(ColumnRef("auth.users_2fa", "phone"), ColumnRef("ads.audience", None), Subtype.JOIN),
            Edge(ColumnRef("ads.uploaded_phones", "phone"), ColumnRef("ads.audience", None), Subtype.JOIN),
        ]
    )
    assert api_store.tags_for(["auth.users_2fa"]) == [
        Tag(
            ColumnRef("auth.users_2fa", "phone"),
            "user.contact.phone_number",
            "essential.service.security",
            TagSource.DECLARED,
            None,
            RUN_ID,
        )
    ]
    g = api_store.graph(dag_id="ads_sync")
    assert DatasetInfo("auth.users_2fa", ("phone", "user_id"), PG) in g.datasets
    assert g.assertions == (Assertion("auth.users_2fa", "not_null", True, "phone", "error", RUN_ID),)
    (run,) = g.runs
    assert (run.dag_id, run.task_id, run.state, run.job_name) == (
        "ads_sync",
        "match_audience",
        "COMPLETE",
        "ads_sync.match_audience",
    )
    assert run.inputs == ("ads.uploaded_phones", "auth.users_2fa") and run.outputs == ("ads.audience",)
    # the guard's question: the 2FA phone reaches the ad audience, as a join key
    paths = api_store.paths_into("ads.audience", purposes=["essential.service.security"])
    assert [[f"{e.kind.value}/{e.subtype.value}" for e in p] for p in paths] == [["INDIRECT/JOIN"]]


def test_the_same_event_twice_is_stored_once(client, api_store):
    doc = as_dict(incident_event())
    assert client.post(URL, json=doc).status_code == 201
    assert client.post(URL, json=doc).status_code == 201
    assert len(api_store.edges()) == 4
    assert len(api_store.runs_for("ads.audience")) == 1
    start = as_dict(incident_event(event_type="START"))
    assert client.post(URL, json=start).status_code == 201
    assert len(api_store.edges()) == 4


def test_gzip_bodies_as_the_http_transport_sends_them(client, api_store):
    body = gzip.compress(json.dumps(as_dict(incident_event())).encode())
    r = client.post(
        URL, content=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text
    assert len(api_store.edges()) == 4


def _broken(path: str, value):
    doc = as_dict(incident_event())
    *head, last = path.split("/")
    node = doc
    for key in head:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


CL = "outputs/0/facets/columnLineage"


@pytest.mark.parametrize(
    "doc, reason",
    [
        ([], "event: must be a JSON object"),
        (_broken("eventTime", KeyError), "eventTime: must be a non-empty string"),
        (_broken("eventTime", "yesterday"), "eventTime: must be an ISO-8601 date-time"),
        (_broken("eventType", "DONE"), "eventType: must be one of"),
        (_broken("run/runId", ""), "run.runId: must be a non-empty string"),
        (_broken("job/name", 7), "job.name: must be a non-empty string"),
        (_broken("inputs/1/name", None), "inputs[1].name"),
        (
            _broken(f"{CL}/fields/user_id/inputFields", {}),
            "columnLineage.fields.user_id.inputFields: must be a list",
        ),
        (
            _broken(f"{CL}/fields/user_id/inputFields/0/transformations/0/type", "COPY"),
            "must be DIRECT or INDIRECT",
        ),
        (
            _broken(f"{CL}/dataset/1/transformations/0/masking", "yes"),
            "dataset[1].transformations[0].masking",
        ),
        (_broken(f"{CL}/dataset/1/field", None), "dataset[1].field"),
        (_broken("inputs/0/inputFacets/dataQualityAssertions/assertions/0/success", "true"), "success"),
        (_broken("inputs/0/facets/tags/tags/1/value", 3), "tags.tags[1].value"),
    ],
)
def test_malformed_events_get_400_with_a_reason_and_nothing_is_stored(client, api_store, doc, reason):
    r = client.post(URL, json=doc)
    assert r.status_code == 400
    assert reason in r.json()["detail"]
    assert api_store.edges() == [] and api_store.graph().datasets == () and api_store.pending() == 0


def test_bodies_that_are_not_json_get_400(client):
    assert client.post(URL, content=b"{not json").status_code == 400
    assert (
        client.post(URL, content=b"\x1f\x8b broken", headers={"Content-Encoding": "gzip"}).status_code == 400
    )


def test_reasons_never_echo_values(client):
    doc = _broken("eventTime", "+1 555 0100 2FA")
    detail = client.post(URL, json=doc).json()["detail"]
    assert "555" not in detail


def test_transformation_kinds_fail_closed(client, api_store):
    doc = as_dict(incident_event())
    fields = doc["outputs"][0]["facets"]["columnLineage"]["fields"]
    fields["a"] = {
        "inputFields": [
            {
                "namespace": PG,
                "name": "s.t",
                "field": "x",
                "transformations": [{"type": "INDIRECT", "subtype": "MAGIC"}],
            }
        ]
    }
    fields["b"] = {
        "inputFields": [
            {
                "namespace": PG,
                "name": "s.t",
                "field": "x",
                "transformations": [{"type": "DIRECT", "subtype": "JOIN"}],
            }
        ]
    }
    fields["c"] = {"inputFields": [{"namespace": PG, "name": "s.t", "field": "x"}]}
    fields["d"] = {
        "transformationType": "MASKED",
        "inputFields": [{"namespace": PG, "name": "s.t", "field": "x", "transformations": []}],
    }
    fields["e"] = {
        "inputFields": [
            {
                "namespace": PG,
                "name": "s.t",
                "field": "x",
                "transformations": [
                    {"type": "INDIRECT"},
                    {"type": "DIRECT", "subtype": "AGGREGATION", "masking": True},
                ],
            }
        ]
    }
    assert client.post(URL, json=doc).status_code == 201
    got = {
        (e.target.column, e.subtype.value, e.masking, e.description)
        for e in api_store.downstream(ColumnRef("s.t", "x"))
    }
    assert got == {
        ("a", "JOIN", False, "producer said INDIRECT/MAGIC"),
        ("b", "TRANSFORMATION", False, "producer said DIRECT/JOIN"),
        ("c", "TRANSFORMATION", False, None),
        ("d", "TRANSFORMATION", True, None),
        ("e", "JOIN", False, "producer said INDIRECT without subtype"),
        ("e", "AGGREGATION", True, None),
    }


def test_dataset_events_and_job_events(client, api_store):
    dataset_event = {
        "eventTime": "2026-04-02T00:00:00Z",
        "producer": "https://example.com/catalog",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": PG,
            "name": "crm.contacts",
            "facets": {
                "tags": {
                    "tags": [
                        {
                            "key": "purpose",
                            "value": "marketing.advertising",
                            "field": "email",
                            "source": "detected",
                        },
                        {
                            "key": "data_category",
                            "value": "user.contact.email",
                            "field": "email",
                            "source": "detected",
                        },
                    ]
                }
            },
        },
    }
    assert client.post(URL, json=dataset_event).json() == {"status": "stored", "run_id": None}
    assert api_store.tags_for(["crm.contacts"]) == [
        Tag(
            ColumnRef("crm.contacts", "email"),
            "user.contact.email",
            "marketing.advertising",
            TagSource.DETECTED,
        )
    ]
    job_event = {
        "eventTime": "2026-04-02T00:00:00Z",
        "producer": "https://example.com/dbt",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "dbt", "name": "mart.customers"},
        "inputs": [{"namespace": PG, "name": "crm.contacts"}],
        "outputs": [
            {
                "namespace": PG,
                "name": "mart.customers",
                "facets": {
                    "columnLineage": {
                        "fields": {
                            "email": {
                                "inputFields": [
                                    {
                                        "namespace": PG,
                                        "name": "crm.contacts",
                                        "field": "email",
                                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                    }
                                ]
                            }
                        }
                    }
                },
            }
        ],
    }
    r = client.post(URL, json=job_event)
    assert r.status_code == 201 and r.json()["run_id"].startswith("job-")
    assert client.post(URL, json=job_event).status_code == 201
    assert api_store.paths_into("mart.customers", purposes=["marketing"]) == [
        [Edge(ColumnRef("crm.contacts", "email"), ColumnRef("mart.customers", "email"), Subtype.IDENTITY)]
    ]
    assert len(api_store.runs_for("mart.customers")) == 1


def test_authentication_is_required(anonymous, client):
    doc = as_dict(incident_event())
    assert anonymous.post(URL, json=doc).status_code == 401
    assert anonymous.post(URL, json=doc).headers["www-authenticate"] == "Bearer"
    assert anonymous.post(URL, json=doc, headers={"X-API-Key": "wrong"}).status_code == 403
    assert anonymous.post(URL, json=doc, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert anonymous.post(URL, json=doc, headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 201
    assert anonymous.get("/api/v1/graph").status_code == 401
    assert client.get("/api/v1/graph").status_code == 200


def test_an_unreachable_store_spools_the_event(tmp_path):
    from fastapi.testclient import TestClient

    from purpose_lineage.api.app import create_app
    from purpose_lineage.store import open_store

    down = open_store("postgresql://postgres@127.0.0.1:9/nowhere", spool_dir=tmp_path / "spool")
    app = create_app(store=down, api_key=API_KEY)
    c = TestClient(app, headers={"X-API-Key": API_KEY})
    r = c.post(URL, json=as_dict(incident_event()))
    assert r.status_code == 201 and r.json()["status"] == "spooled"
    assert down.pending() == 1
    assert c.get("/api/v1/paths", params={"sink": "ads.audience"}).status_code == 503
    assert c.get("/api/v1/upstream", params={"table": "ads.audience"}).status_code == 503


def test_input_is_not_mutated_by_parsing(client):
    doc = as_dict(incident_event())
    before = copy.deepcopy(doc)
    client.post(URL, json=doc)
    assert doc == before
