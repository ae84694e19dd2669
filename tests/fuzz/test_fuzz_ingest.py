"""Fuzz ``POST /api/v1/lineage`` with mutated OpenLineage events: 201 or 400 with a reason, never a
500, and a 400 writes nothing (row counts of every store table and the spool unchanged).

Events start from real openlineage-python events (tests/support/ol_samples.py): keys deleted,
values replaced by other JSON (wrong types, huge numbers, hostile strings), lists duplicated
or emptied; and the serialized body mutated byte by byte. The store is a real DuckDB file.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from fuzz_support import count, fuzz_settings, mutated
from hypothesis import given
from hypothesis import strategies as st
from ol_samples import API_KEY, as_dict, incident_event

from purpose_lineage.api.app import create_app
from purpose_lineage.store import open_store

URL = "/api/v1/lineage"
BASES = [
    as_dict(incident_event()),
    as_dict(incident_event(event_type="START")),
    as_dict(incident_event(run_id="01970000-0000-7000-8000-0000000000ff", event_type="FAIL")),
]
HOSTILE = [
    "", " ", "'; DROP TABLE pl_edges; --", '"', "\\", "\x00", "\u202e", "\ud7ff", "a" * 5000, "..", ".",
    "x.y.z.w", "user.contact.phone_number", "essential.service.security", "DIRECT", "INDIRECT", "JOIN",
    "IDENTITY", "COMPLETE", "not-a-uuid", "2026-13-45T99:99:99Z", "-1", "1e309",
]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.sampled_from(HOSTILE) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(HOSTILE) | st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip

JSON_WORDS = ['"', "{", "}", "[", "]", ",", ":", "null", "\\u0000", "1e999", "-"]

_tmp = Path(tempfile.mkdtemp(prefix="pl-fuzz-ingest-"))
STORE = open_store(f"duckdb:///{_tmp / 'lineage.duckdb'}", spool_dir=_tmp / "spool")
_app = create_app(store=STORE, api_key=API_KEY)
_app.state.airflow_auth = False
CLIENT = TestClient(_app, headers={"X-API-Key": API_KEY}, raise_server_exceptions=False)
TABLES = [
    "pl_datasets", "pl_columns", "pl_edges", "pl_edge_runs", "pl_tags", "pl_runs", "pl_run_events",
    "pl_run_datasets", "pl_assertions", "pl_verdicts", "pl_dataset_edges",
]  # fmt: skip


def snapshot() -> dict[str, int]:
    if not STORE.path.exists():  # created by the first write
        return {t: 0 for t in TABLES} | {"spool": STORE.pending()}
    con = duckdb.connect(str(STORE.path), read_only=True)
    try:
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()
    rows["spool"] = STORE.pending()
    return rows


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_events(draw) -> dict:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        op = draw(st.sampled_from(("delete", "replace", "duplicate", "empty")))
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(json_values)
        elif op == "duplicate" and isinstance(parent[key], list) and parent[key]:
            parent[key] = parent[key] + parent[key][:1]
        elif op == "empty":
            parent[key] = type(parent[key])() if isinstance(parent[key], (list, dict, str)) else None
    return doc


def post(body: bytes):
    before = snapshot()
    r = CLIENT.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (201, 400), (r.status_code, r.text[:300])
    if r.status_code == 400:
        detail = r.json()["detail"]
        assert isinstance(detail, str) and detail
        assert snapshot() == before, "a rejected event left rows behind"
    else:
        assert r.json()["status"] in ("stored", "spooled")
    return r


@fuzz_settings(150, deadline_s=20)
@given(doc=mutated_events())
def test_mutated_events_are_stored_or_rejected_whole(doc: dict):
    count("ingest.mutated_event")
    post(json.dumps(doc).encode())


@fuzz_settings(80, deadline_s=20)
@given(text=mutated(st.sampled_from(BASES).map(json.dumps), JSON_WORDS))
def test_mutated_bodies_are_stored_or_rejected_whole(text: str):
    count("ingest.mutated_body")
    post(text.encode("utf-8", "surrogatepass"))


@fuzz_settings(60, deadline_s=20)
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_bodies_are_rejected_whole(body: bytes):
    count("ingest.random_body")
    post(body)


def test_the_unmutated_events_are_stored():
    for doc in BASES:
        count("ingest.mutated_event")
        assert post(json.dumps(doc).encode()).status_code == 201
