"""The LineageStore contract, run on DuckDB and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource
from purpose_lineage.errors import StoreError
from purpose_lineage.store import migrations
from purpose_lineage.store.base import Assertion, DatasetInfo, RunInfo, Verdict, path_key

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECURITY = "essential.service.security"
PHONE = "user.contact.phone_number"


def c(table: str, column: str | None = None) -> ColumnRef:
    return ColumnRef(table, column)


def run(run_id: str = "run-1", event_type: str = "COMPLETE", at: datetime = T0, **kw) -> RunInfo:
    return RunInfo(run_id, event_type, at, job_name=kw.pop("job_name", "ads.match"), **kw)


# The motivating incident: 2FA phone numbers used only as a JOIN KEY to match advertisers' lists.
INCIDENT = [
    Edge(c("ads.uploaded_phones", "phone"), c("ads.matched", None), Subtype.JOIN),
    Edge(c("auth.users_2fa", "phone"), c("ads.matched", None), Subtype.JOIN),
    Edge(c("auth.users_2fa", "user_id"), c("ads.matched", "user_id"), Subtype.IDENTITY),
    Edge(c("ads.matched", "user_id"), c("ads.audience", "user_id"), Subtype.IDENTITY),
    Edge(c("ads.campaigns", "campaign_id"), c("ads.audience", "campaign_id"), Subtype.IDENTITY),
]
PHONE_TAG = Tag(c("auth.users_2fa", "phone"), PHONE, SECURITY)


def test_edges_round_trip_with_kinds_and_provenance(store):
    assert store.record_lineage(run(dag_id="ads", task_id="match"), INCIDENT, [PHONE_TAG]) is True
    assert store.edges() == sorted(INCIDENT)
    assert {e.kind.value for e in store.edges_into(["ads.matched"])} == {"INDIRECT", "DIRECT"}
    assert store.edges_into(["ADS.Audience"]) == sorted(INCIDENT[3:])
    assert store.tags_for(["auth.users_2fa"]) == [
        Tag(c("auth.users_2fa", "phone"), PHONE, SECURITY, TagSource.DECLARED, None, "run-1")
    ]
    assert store.edges(dag_id="ads") == sorted(INCIDENT)
    assert store.edges(dag_id="other") == []
    assert store.schema_version() == migrations.LATEST


def test_replayed_event_changes_nothing(store, raw):
    event = run(dag_id="ads", task_id="match")
    assert store.record_lineage(event, INCIDENT, [PHONE_TAG])
    assert store.record_lineage(event, INCIDENT + [Edge(c("x.a", "b"), c("x.c", "d"), Subtype.FILTER)])
    # the second call had the same key (run id + event type + event time): nothing of it was written
    assert store.edges() == sorted(INCIDENT)
    assert raw("SELECT count(*) FROM pl_run_events") == [(1,)]
    assert raw("SELECT count(*) FROM pl_edges") == [(len(INCIDENT),)]


def test_task_retry_adds_provenance_not_edges(store, raw):
    store.record_lineage(run("try-1", "START", T0), INCIDENT)
    store.record_lineage(run("try-1", "COMPLETE", T0 + timedelta(seconds=5)), INCIDENT)
    store.record_lineage(run("try-2", "COMPLETE", T0 + timedelta(minutes=1)), INCIDENT)
    assert store.edges() == sorted(INCIDENT)
    assert raw("SELECT count(*) FROM pl_edges") == [(len(INCIDENT),)]
    assert raw("SELECT count(*) FROM pl_run_events") == [(3,)]
    assert raw("SELECT count(*) FROM pl_edge_runs") == [(2 * len(INCIDENT),)]
    assert store.edges(run_id="try-2") == sorted(INCIDENT)


def test_run_state_follows_the_latest_event(store):
    store.record_lineage(run("r", "COMPLETE", T0 + timedelta(seconds=9)), INCIDENT[:1])
    store.record_lineage(run("r", "START", T0), INCIDENT[:1])  # arrives late
    (record,) = store.runs_for("ads.matched")
    assert (record.state, record.started_at, record.ended_at) == ("COMPLETE", T0, T0 + timedelta(seconds=9))
    assert record.inputs == ("ads.uploaded_phones",) and record.outputs == ("ads.matched",)


def test_masking_holds_only_while_every_producer_masks(store):
    masked = Edge(c("a.t", "phone"), c("b.t", "phone_hash"), Subtype.TRANSFORMATION, masking=True)
    store.record_lineage(run("r1"), [masked])
    assert store.edges()[0].masking is True
    store.record_lineage(run("r2"), [Edge(masked.source, masked.target, masked.subtype, masking=False)])
    assert store.edges()[0].masking is False


def test_upstream_and_downstream_closures_with_depth(store):
    chain = [Edge(c(f"s.t{i}", "x"), c(f"s.t{i + 1}", "x"), Subtype.IDENTITY) for i in range(30)]
    store.record_lineage(run(), chain)
    assert store.upstream(c("s.t30", "x")) == sorted(chain[10:])  # default depth 20, as Marquez
    assert store.upstream(c("s.t30", "x"), depth=3) == sorted(chain[27:])
    assert store.downstream(c("s.t0", "x"), depth=2) == sorted(chain[:2])
    assert store.upstream("s.t1", depth=0) == []
    assert store.upstream(c("s.t0", "x")) == []
    assert store.upstream(c("nowhere", "x")) == []
    with pytest.raises(StoreError):
        store.upstream("s.t1", depth=-1)


def test_closures_step_through_row_sets(store):
    store.record_lineage(run(), INCIDENT, [PHONE_TAG])
    # the 2FA phone decides which rows ads.matched holds, so it reaches every column downstream
    down = store.downstream(c("auth.users_2fa", "phone"))
    assert down == sorted([INCIDENT[1], INCIDENT[3]])
    up = store.upstream(c("ads.audience", "user_id"))
    assert up == sorted([INCIDENT[0], INCIDENT[1], INCIDENT[2], INCIDENT[3]])
    assert store.upstream("ads.audience") == sorted(INCIDENT)


def test_paths_into_finds_the_join_key_flow(store):
    store.record_lineage(run(), INCIDENT, [PHONE_TAG])
    paths = store.paths_into("ads.audience", purposes=["essential.service.security"])
    assert paths == [[INCIDENT[1], INCIDENT[3]]]
    assert [e.subtype.value for e in paths[0]] == ["JOIN", "IDENTITY"]
    assert [e.kind.value for e in paths[0]] == ["INDIRECT", "DIRECT"]
    # purposes and categories match by prefix (fideslang keys are dotted paths)
    assert store.paths_into("ads.audience", purposes=["essential"], categories=["user.contact"]) == paths
    assert store.paths_into("ads.audience", purposes=["marketing"]) == []
    assert store.paths_into("ads.audience", categories=["user.financial"]) == []
    assert store.paths_into("ads.audience", where=lambda t: t.column.column == "phone") == paths
    assert store.paths_into("ads.audience", where=lambda t: False) == []
    assert store.paths_into("ads.audience", purposes=[SECURITY], depth=1) == []
    assert store.paths_into("ads.matched", purposes=[SECURITY]) == [[INCIDENT[1]]]
    assert store.paths_into("ads.unknown") == []


def test_paths_into_from_explicit_sources_and_tag_sources(store):
    store.record_lineage(run(), INCIDENT)
    origin = c("auth.users_2fa", "phone")
    store.record_tags([Tag(c("ads.matched", None), PHONE, SECURITY, TagSource.PROPAGATED, origin, "run-1")])
    assert store.paths_into("ads.audience") == []  # only a propagated tag: not a source by default
    assert store.paths_into("ads.audience", tag_sources=["propagated"]) == [[INCIDENT[3]]]
    assert store.paths_into("ads.audience", sources=[c("ads.uploaded_phones", "phone")]) == [
        [INCIDENT[0], INCIDENT[3]]
    ]
    assert store.paths_into("ads.audience", sources=["ads.campaigns"]) == [[INCIDENT[4]]]
    (tag,) = store.tags_for(["ads.matched"])
    assert (tag.source, tag.origin, tag.run_id) == (TagSource.PROPAGATED, origin, "run-1")


def test_paths_into_enumerates_every_path_and_refuses_to_truncate(store):
    # a diamond: src -> a|b|c -> sink, plus a longer branch a -> d -> sink
    src = c("raw.users", "phone")
    mids = [c("stage.a", "x"), c("stage.b", "x"), c("stage.c", "x")]
    edges = [Edge(src, m, Subtype.TRANSFORMATION) for m in mids]
    edges += [Edge(m, c("mart.sink", "y"), Subtype.AGGREGATION) for m in mids]
    edges += [
        Edge(mids[0], c("stage.d", "x"), Subtype.FILTER),
        Edge(c("stage.d", "x"), c("mart.sink", None), Subtype.FILTER),
    ]
    store.record_lineage(run(), edges, [Tag(src, PHONE, SECURITY)])
    paths = store.paths_into("mart.sink", purposes=[SECURITY])
    assert len(paths) == 4
    assert paths == sorted(paths, key=path_key)  # the documented order, whatever the search order
    assert [len(p) for p in paths].count(3) == 1
    assert all(p[0].source == src and p[-1].target.table == "mart.sink" for p in paths)
    with pytest.raises(StoreError, match="more than 3 lineage paths"):
        store.paths_into("mart.sink", purposes=[SECURITY], max_paths=3)


def test_cycles_do_not_loop(store):
    a, b = c("x.a", "v"), c("x.b", "v")
    store.record_lineage(
        run(),
        [
            Edge(a, b, Subtype.IDENTITY),
            Edge(b, a, Subtype.IDENTITY),
            Edge(b, c("x.sink", "v"), Subtype.IDENTITY),
        ],
        [Tag(a, PHONE, SECURITY)],
    )
    assert store.paths_into("x.sink") == [
        [Edge(a, b, Subtype.IDENTITY), Edge(b, c("x.sink", "v"), Subtype.IDENTITY)]
    ]
    assert len(store.upstream(c("x.sink", "v"))) == 3


def test_verdicts_and_run_history_newest_first(store):
    store.record_lineage(run("r1", at=T0, dag_id="ads", task_id="match"), INCIDENT)
    store.record_lineage(run("r2", at=T0 + timedelta(hours=1), dag_id="ads", task_id="match"), INCIDENT)
    bad = Verdict(
        "r1",
        "ads",
        "guard",
        "ads.audience",
        False,
        [{"rule": "security-to-ads", "path": ["x"]}],
        12,
        T0 + timedelta(minutes=1),
    )
    ok = Verdict("r2", "ads", "guard", "ads.audience", True, [], 0, T0 + timedelta(hours=1, minutes=1))
    store.record_verdict(bad)
    store.record_verdict(bad)  # idempotent
    store.record_verdict(ok)
    assert store.verdicts_for("ads.audience") == [ok, bad]
    assert store.verdicts_for(run_id="r1") == [bad]
    assert store.verdicts_for("ads.audience")[1].violations == ({"rule": "security-to-ads", "path": ["x"]},)
    assert [r.run_id for r in store.runs_for("ads.audience")] == ["r2", "r1"]
    assert store.runs_for("nothing.here") == []


def test_graph_snapshot_for_a_dag_or_run(store):
    store.record_lineage(
        run("r1", dag_id="ads", task_id="match"),
        INCIDENT[:3],
        [PHONE_TAG],
        [DatasetInfo("auth.users_2fa", ("user_id", "phone", "created_at"), "postgres://db:5432")],
        assertions=[Assertion("ads.matched", "not_null", True, "user_id", "error")],
    )
    store.record_lineage(run("r2", dag_id="report", task_id="t"), [INCIDENT[4]])
    store.record_verdict(Verdict("r1", "ads", "guard", "ads.matched", False, [{"rule": "x"}], 1, T0))
    g = store.graph(dag_id="ads")
    assert g.edges == tuple(sorted(INCIDENT[:3]))
    assert {d.table for d in g.datasets} == {"ads.uploaded_phones", "auth.users_2fa", "ads.matched"}
    users = next(d for d in g.datasets if d.table == "auth.users_2fa")
    assert users == DatasetInfo("auth.users_2fa", ("created_at", "phone", "user_id"), "postgres://db:5432")
    assert g.tags == (Tag(c("auth.users_2fa", "phone"), PHONE, SECURITY, TagSource.DECLARED, None, "r1"),)
    assert [r.run_id for r in g.runs] == ["r1"] and len(g.verdicts) == 1
    assert g.assertions == (Assertion("ads.matched", "not_null", True, "user_id", "error", "r1"),)
    assert store.graph(run_id="r2").edges == (INCIDENT[4],)
    everything = store.graph()
    assert len(everything.edges) == 4 and len(everything.runs) == 2
    assert store.graph(tables=["ads.campaigns"]).edges == (INCIDENT[4],)


def test_record_dataset_and_names_are_normalised(store):
    store.record_dataset('"Main"."Users"', ['"Phone"', "Email", "email"], namespace="duckdb://warehouse")
    store.record_lineage(run(), [Edge(c("MAIN.users", "PHONE"), c("Mart.X", "P"), Subtype.IDENTITY)])
    assert store.edges() == [Edge(c("main.users", "phone"), c("mart.x", "p"), Subtype.IDENTITY)]
    (users,) = [d for d in store.graph().datasets if d.table == "main.users"]
    assert users == DatasetInfo("main.users", ("email", "phone"), "duckdb://warehouse")


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Edge(c("a.b", "x"), c("c.d", "y"), "NOT_A_SUBTYPE"),
        lambda: Edge(c("", "x"), c("c.d", "y"), Subtype.IDENTITY),
        lambda: Edge(c("a.b", ""), c("c.d", "y"), Subtype.IDENTITY),
        lambda: "not an edge",
    ],
)
def test_bad_input_raises_and_writes_nothing(store, bad, raw):
    good = Edge(c("a.b", "x"), c("c.d", "y"), Subtype.IDENTITY)
    with pytest.raises(StoreError):
        store.record_lineage(run(), [good, bad()])
    assert store.edges() == []
    assert store.pending() == 0
    assert raw("SELECT count(*) FROM pl_run_events") == [(0,)]


def test_bad_verdict_and_tag_are_refused(store):
    with pytest.raises(StoreError, match="JSON"):
        store.record_verdict(Verdict("r", "d", "t", "s.t", False, [{"x": object()}]))
    with pytest.raises(StoreError):
        store.record_tags([Tag(c("a.b", "x"), PHONE, SECURITY, "guessed")])
    with pytest.raises(ValueError):
        RunInfo("r", "FINISHED")


def test_change_marker_moves_with_every_write_of_any_writer(store, store_url, spool_dir):
    from purpose_lineage.store import open_store

    first = store.change_marker()
    assert store.change_marker() == first  # reads change nothing
    store.record_lineage(run(), INCIDENT[:1])
    after_edges = store.change_marker()
    assert after_edges != first
    # another writer (as another process would: its own store object on the same database)
    other = open_store(store_url, spool_dir=spool_dir)
    try:
        other.record_verdict(Verdict("run-2", "ads", "guard", "ads.audience", False, [{"rule": "x"}], 1))
        assert store.change_marker() not in (first, after_edges)
        marker = store.change_marker()
        other.record_lineage(run(), INCIDENT[:1])  # a replayed event writes nothing
        assert store.change_marker() == marker
        other.record_tags([PHONE_TAG])  # an upsert of existing rows counts too
        other.record_tags([PHONE_TAG])
        assert store.change_marker() == marker + 2
    finally:
        other.close()
