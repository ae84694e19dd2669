"""GET ui/api/graph answers from a cache until any writer changes the store, never stale."""

from __future__ import annotations

from purpose_lineage.api.ui_cache import GraphCache
from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag
from purpose_lineage.store import open_store
from purpose_lineage.store.base import RunInfo, Verdict

GRAPH = "/ui/api/graph"
SECURITY = "essential.service.security"
EDGE = Edge(ColumnRef("crm.users", "phone"), ColumnRef("ads.matched", None), Subtype.JOIN)


def tables(body: dict) -> list[str]:
    return sorted(d["table"] for d in body["datasets"])


def test_graph_is_cached_until_another_writer_changes_the_store(client, api_store):
    api_store.record_lineage(RunInfo("r1", job_name="j", dag_id="d", task_id="t"), [EDGE])
    first = client.get(GRAPH)
    assert first.status_code == 200
    assert tables(first.json()) == ["ads.matched", "crm.users"]
    cache: GraphCache = client.app.state.ui_graph_cache
    again = client.get(GRAPH)
    assert again.content == first.content and cache.hits == 1

    # a write through another store object on the same file, as an Airflow task's process makes
    other = open_store(api_store.url, spool_dir=api_store.spool.root.parent)
    try:
        other.record_lineage(
            RunInfo("r2", job_name="j", dag_id="d", task_id="t"),
            [Edge(ColumnRef("ads.matched", "id"), ColumnRef("ads.audience", "id"), Subtype.IDENTITY)],
        )
        assert tables(client.get(GRAPH).json()) == ["ads.audience", "ads.matched", "crm.users"]
        # changes that add no table show as well: a tag, a failed verdict
        other.record_tags([Tag(ColumnRef("crm.users", "phone"), "user.contact.phone_number", SECURITY)])
        body = client.get(GRAPH).json()
        users = next(d for d in body["datasets"] if d["table"] == "crm.users")
        assert [t["purpose"] for c in users["columns"] for t in c["tags"]] == [SECURITY]
        other.record_verdict(Verdict("r3", "d", "guard", "ads.audience", False, [], 4))
        assert [v["passed"] for v in client.get(GRAPH).json()["verdicts"]] == [False]
    finally:
        other.close()

    # each filter set is its own entry; a repeat of it is a hit
    hits = cache.hits
    narrowed = client.get(GRAPH, params={"dag_id": "d", "purpose": SECURITY})
    assert client.get(GRAPH, params={"dag_id": "d", "purpose": SECURITY}).content == narrowed.content
    assert cache.hits == hits + 1
    assert client.get(GRAPH).content != narrowed.content


def test_cache_keeps_few_entries_and_drops_older_markers():
    cache = GraphCache(max_entries=2)
    cache.put(1, "a", b"A1")
    cache.put(1, "b", b"B1")
    assert cache.get(1, "a") == b"A1"
    cache.put(1, "c", b"C1")  # evicts the least recently used: b
    assert cache.get(1, "b") is None and cache.get(1, "c") == b"C1"
    cache.put(2, "a", b"A2")
    assert len(cache) == 1 and cache.get(1, "a") is None and cache.get(2, "a") == b"A2"
