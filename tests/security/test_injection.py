"""Hostile names in API parameters are bound, never interpolated into SQL.

Names with quotes, ``; DROP TABLE``, comment markers, LIKE wildcards, NUL-free control and
unicode characters go through every read parameter on both backends. Afterwards every store
table still exists with its rows, each answer is a 200 (or a 422 validation error) with a sane
body, and a hostile name that is really stored round-trips exactly: the query finds that
dataset and no other.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from ol_samples import API_KEY, as_dict, incident_event
from store_fixtures import raw_rows

from purpose_lineage.api.app import create_app
from purpose_lineage.core.model import ColumnRef, Edge, Subtype, normalize_table
from purpose_lineage.store.base import RunInfo, utcnow

TABLES = [
    "pl_datasets", "pl_columns", "pl_edges", "pl_edge_runs", "pl_tags", "pl_runs", "pl_run_events",
    "pl_run_datasets", "pl_assertions", "pl_verdicts", "pl_dataset_edges",
]  # fmt: skip
HOSTILE = [
    "x'; DROP TABLE pl_edges; --",
    'x"; DROP TABLE pl_datasets; --',
    "a' OR '1'='1",
    "') OR 1=1 --",
    "x\\'; DELETE FROM pl_tags; --",
    "%",
    "_",
    "auth.%",
    "*/ SELECT 1 /*",
    "$$; DROP TABLE pl_runs; $$",
    "ads.audience' UNION SELECT name, name FROM pl_datasets --",
    "\u0442\u0430\u0431\u043b\u0438\u0446\u0430.\u0441\u0442\u043e\u043b\u0431\u0435\u0446",
    "\u202eelbat",
    "\U0001f4f1.phone",
    "a" * 2000,
]
PARAMS = [
    ("/api/v1/upstream", "table"), ("/api/v1/upstream", "column"), ("/api/v1/downstream", "table"),
    ("/api/v1/downstream", "column"), ("/api/v1/paths", "sink"), ("/api/v1/paths", "purpose"),
    ("/api/v1/paths", "category"), ("/api/v1/paths", "source"), ("/api/v1/history", "table"),
    ("/api/v1/graph", "dag_id"), ("/api/v1/graph", "run_id"), ("/api/v1/graph", "table"),
]  # fmt: skip
REQUIRED = {"/api/v1/upstream": "table", "/api/v1/downstream": "table", "/api/v1/paths": "sink"}
STORED_HOSTILE = "evil'; drop table pl_edges; --.t\"x"


@pytest.fixture
def api(store):
    app = create_app(store=store, api_key=API_KEY)
    app.state.airflow_auth = False
    client = TestClient(app, headers={"X-API-Key": API_KEY}, raise_server_exceptions=False)
    assert client.post("/api/v1/lineage", json=as_dict(incident_event())).status_code == 201
    store.record_lineage(
        RunInfo("hostile-1", "COMPLETE", utcnow(), job_name="d.t", dag_id="d", task_id="t"),
        [Edge(ColumnRef("ads.audience", "user_id"), ColumnRef(STORED_HOSTILE, "c'ol"), Subtype.IDENTITY)],
    )
    return client


def counts(store) -> dict[str, int]:
    return {t: raw_rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def test_hostile_names_in_every_parameter(api, store):
    before = counts(store)
    assert before["pl_edges"] > 0 and before["pl_datasets"] > 0
    answered = 0
    for path, param in PARAMS:
        for name in HOSTILE:
            params = {REQUIRED[path]: "ads.audience"} if path in REQUIRED else {}
            params[param] = name
            r = api.get(path, params=params)
            assert r.status_code in (200, 422), (path, param, name[:40], r.status_code, r.text[:200])
            body = r.json()
            if r.status_code == 200:
                answered += 1
                if path in ("/api/v1/upstream", "/api/v1/downstream") and param == "table":
                    assert body["root"]["table"] == normalize_table(name)
                    assert body["edges"] == []  # no such table: a wildcard or OR must not match all
                if path == "/api/v1/history":
                    assert body == {"table": normalize_table(name), "runs": [], "verdicts": []}
                if path == "/api/v1/paths" and param in ("purpose", "category"):
                    assert body["paths"] == []  # '%', '_' are not prefixes of any purpose
                if path == "/api/v1/graph" and param in ("dag_id", "run_id"):
                    assert body["edges"] == [] and body["runs"] == []
    assert answered >= len(PARAMS) * len(HOSTILE) // 2
    assert counts(store) == before, "a hostile name changed the store"


def test_a_stored_hostile_name_round_trips_exactly(api):
    up = api.get("/api/v1/upstream", params={"table": STORED_HOSTILE, "column": "c'ol"})
    assert up.status_code == 200, up.text
    assert {(e["source"]["table"], e["source"]["column"]) for e in up.json()["edges"]} >= {
        ("ads.audience", "user_id")
    }
    down = api.get("/api/v1/downstream", params={"table": "ads.audience", "column": "user_id"}).json()
    assert (normalize_table(STORED_HOSTILE), "c'ol") in {
        (e["target"]["table"], e["target"]["column"]) for e in down["edges"]
    }
    # a prefix of the hostile name is a different table: not a LIKE match
    assert api.get("/api/v1/upstream", params={"table": "evil"}).json()["edges"] == []


def test_hostile_names_in_ingested_events_are_stored_as_data(api, store):
    doc = as_dict(incident_event(run_id="01970000-0000-7000-8000-0000000000aa"))
    doc["outputs"][0]["name"] = "ads.x'); DROP TABLE pl_edges; --"
    doc["job"]["name"] = "j'; DELETE FROM pl_runs; --"
    before = counts(store)
    assert api.post("/api/v1/lineage", json=doc).status_code == 201
    after = counts(store)
    assert all(after[t] >= before[t] for t in TABLES) and after["pl_edges"] > before["pl_edges"]
    hist = api.get("/api/v1/history", params={"table": "ads.x'); DROP TABLE pl_edges; --"}).json()
    assert [r["job_name"] for r in hist["runs"]] == ["j'; DELETE FROM pl_runs; --"]
