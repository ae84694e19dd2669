"""Read endpoints: closures, paths into a sink, table history, graph."""

from __future__ import annotations

from datetime import UTC, datetime

from ol_samples import as_dict, incident_event

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag
from purpose_lineage.store.base import RunInfo, Verdict

T0 = datetime(2026, 4, 1, 10, tzinfo=UTC)


def seed(client, api_store) -> None:
    assert client.post("/api/v1/lineage", json=as_dict(incident_event())).status_code == 201
    # a second hop: the audience is copied into an export table
    api_store.record_lineage(
        RunInfo("export-1", "COMPLETE", T0, job_name="ads_sync.export", dag_id="ads_sync", task_id="export"),
        [Edge(ColumnRef("ads.audience", "user_id"), ColumnRef("ads.export", "user_id"), Subtype.IDENTITY)],
    )
    api_store.record_verdict(
        Verdict(
            "export-1", "ads_sync", "guard", "ads.export", False, [{"rule": "security-not-for-ads"}], 42, T0
        )
    )


def test_upstream_and_downstream(client, api_store):
    seed(client, api_store)
    up = client.get("/api/v1/upstream", params={"table": "ads.export", "column": "user_id"}).json()
    assert up["root"] == {"table": "ads.export", "column": "user_id"}
    assert up["direction"] == "upstream" and up["depth"] == 20
    assert {(c["table"], c["column"]) for c in up["columns"]} == {
        ("ads.audience", "user_id"),
        ("auth.users_2fa", "user_id"),
        ("auth.users_2fa", "phone"),
        ("ads.uploaded_phones", "phone"),
    }
    kinds = {(e["source"]["column"], e["kind"], e["subtype"]) for e in up["edges"]}
    assert ("phone", "INDIRECT", "JOIN") in kinds
    one = client.get(
        "/api/v1/upstream", params={"table": "ads.export", "column": "user_id", "depth": 1}
    ).json()
    assert [e["source"] for e in one["edges"]] == [{"table": "ads.audience", "column": "user_id"}]
    down = client.get("/api/v1/downstream", params={"table": "auth.users_2fa", "column": "phone"}).json()
    assert {(e["target"]["table"], e["target"]["column"]) for e in down["edges"]} == {
        ("ads.audience", None),
        ("ads.export", "user_id"),
    }
    assert client.get("/api/v1/upstream", params={"table": "x", "depth": 101}).status_code == 422
    assert client.get("/api/v1/upstream").status_code == 422


def test_paths_into_a_sink_with_edge_kinds(client, api_store):
    seed(client, api_store)
    r = client.get("/api/v1/paths", params={"sink": "ads.export", "purpose": "essential.service.security"})
    assert r.status_code == 200
    body = r.json()
    assert body["sink"] == "ads.export" and body["depth"] == 20
    (path,) = body["paths"]
    assert path["source"] == {"table": "auth.users_2fa", "column": "phone"}
    assert path["target"] == {"table": "ads.export", "column": "user_id"}
    assert path["edge_kinds"] == ["INDIRECT/JOIN", "DIRECT/IDENTITY"]
    assert (
        client.get("/api/v1/paths", params={"sink": "ads.export", "purpose": "marketing"}).json()["paths"]
        == []
    )
    by_source = client.get(
        "/api/v1/paths", params={"sink": "ads.export", "source": "ads.uploaded_phones"}
    ).json()
    # advertiser_id stops at the audience; the uploaded phones decide its rows, which reach the export
    assert [p["edge_kinds"] for p in by_source["paths"]] == [["INDIRECT/JOIN", "DIRECT/IDENTITY"]]
    assert client.get("/api/v1/paths", params={"sink": "ads.export", "depth": 1}).json()["paths"] == []


def test_too_many_paths_is_422_not_a_truncated_answer(client, api_store):
    seed(client, api_store)
    api_store.record_tags(
        [Tag(ColumnRef("ads.uploaded_phones", "phone"), "user.contact", "essential.service")]
    )
    r = client.get("/api/v1/paths", params={"sink": "ads.export", "purpose": "essential", "max_paths": 1})
    assert r.status_code == 422
    assert "more than 1" in r.json()["detail"]


def test_history_of_a_table(client, api_store):
    seed(client, api_store)
    h = client.get("/api/v1/history", params={"table": "ads.export"}).json()
    assert [r["run_id"] for r in h["runs"]] == ["export-1"]
    assert h["runs"][0]["inputs"] == ["ads.audience"] and h["runs"][0]["outputs"] == ["ads.export"]
    assert h["verdicts"] == [
        {
            "run_id": "export-1",
            "dag_id": "ads_sync",
            "task_id": "guard",
            "sink": "ads.export",
            "passed": False,
            "violations": [{"rule": "security-not-for-ads"}],
            "affected_count": 42,
            "checked_at": "2026-04-01T10:00:00Z",
        }
    ]
    audience = client.get("/api/v1/history", params={"table": "ads.audience"}).json()
    assert {r["task_id"] for r in audience["runs"]} == {"match_audience", "export"}
    assert audience["verdicts"] == []


def test_graph_for_a_run(client, api_store):
    seed(client, api_store)
    g = client.get("/api/v1/graph", params={"run_id": "export-1"}).json()
    assert [(e["source"]["table"], e["target"]["table"]) for e in g["edges"]] == [
        ("ads.audience", "ads.export")
    ]
    assert [r["run_id"] for r in g["runs"]] == ["export-1"]
    assert len(g["verdicts"]) == 1
    full = client.get("/api/v1/graph", params={"dag_id": "ads_sync"}).json()
    assert len(full["edges"]) == 5 and len(full["runs"]) == 2
    assert full["tags"][0]["purpose"] == "essential.service.security"
    assert full["assertions"][0]["assertion"] == "not_null"
