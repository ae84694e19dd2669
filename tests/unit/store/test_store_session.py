"""One store session for a task's reads and its write; upserts that skip unchanged rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag
from purpose_lineage.store import open_store
from purpose_lineage.store.base import DatasetInfo, LineageStore, RunInfo

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
JOIN = Edge(ColumnRef("auth.users_2fa", "phone"), ColumnRef("ads.matched", None), Subtype.JOIN)
COPY = Edge(ColumnRef("auth.users_2fa", "user_id"), ColumnRef("ads.matched", "user_id"), Subtype.IDENTITY)
TAG = Tag(ColumnRef("auth.users_2fa", "phone"), "user.contact.phone_number", "essential.service.security")


def run(run_id: str, at: datetime = T0, event_type: str = "COMPLETE") -> RunInfo:
    return RunInfo(run_id, event_type, at, job_name="ads.match", dag_id="ads", task_id="match")


def test_reads_and_write_in_one_session(store, raw):
    store.record_tags([TAG])
    with store.session():
        assert store.tags_for(["auth.users_2fa"])[0].purpose == TAG.purpose
        assert store.record_lineage(run("r1"), [JOIN, COPY]) is True
        assert store.edges(run_id="r1") == sorted([JOIN, COPY])  # read your write inside
    assert store.pending() == 0
    assert store.edges() == sorted([JOIN, COPY])
    assert raw("SELECT count(*) FROM pl_run_events") == [(1,)]
    # replaying the same event inside a session writes nothing, as outside
    with store.session():
        assert store.record_lineage(run("r1"), [JOIN, COPY, Edge(COPY.source, COPY.target, Subtype.FILTER)])
    assert raw("SELECT count(*) FROM pl_edges") == [(2,)]


def test_duckdb_peer_write_during_a_session_is_applied_on_release(tmp_path):
    url = f"duckdb:///{tmp_path / 'lineage.duckdb'}"
    holder = open_store(url, spool_dir=tmp_path / "spool")
    peer = open_store(url, spool_dir=tmp_path / "spool")  # another task: its own lock file handle
    with holder.session():
        holder.record_lineage(run("mine"), [COPY])
        assert peer.record_lineage(run("peer"), [JOIN]) is False  # lock taken: left in the spool
        assert peer.pending() == 1
    assert holder.pending() == 0  # the holder looked at the spool again when it let go
    assert holder.edges(run_id="peer") == [JOIN]
    assert holder.edges(run_id="mine") == [COPY]


def test_upserts_keep_their_rules_when_rows_exist(store, raw):
    described = Edge(COPY.source, COPY.target, COPY.subtype, masking=True, description="hashed")
    store.record_lineage(run("r1"), [described], datasets=[DatasetInfo("auth.users_2fa", ("phone",))])
    store.record_lineage(
        run("r2", T0 + timedelta(minutes=1)), [Edge(COPY.source, COPY.target, COPY.subtype, True)]
    )
    assert store.edges() == [described]  # no description: the stored one stays
    store.record_lineage(run("r3", T0 + timedelta(minutes=2)), [COPY])  # a plain copy: unmasked for good
    store.record_lineage(run("r4", T0 + timedelta(minutes=3)), [described])
    assert store.edges() == [Edge(COPY.source, COPY.target, COPY.subtype, False, "hashed")]
    assert raw("SELECT count(*) FROM pl_edges") == [(1,)]
    assert raw("SELECT count(*) FROM pl_dataset_edges") == [(1,)]
    assert raw("SELECT count(*) FROM pl_edge_runs") == [(4,)]
    # an explicit namespace wins over 'default' and is kept by later writes without one
    store.record_dataset("auth.users_2fa", ["phone", "email"], namespace="postgres://db:5432")
    store.record_lineage(run("r5", T0 + timedelta(minutes=4)), [COPY])
    assert raw("SELECT namespace FROM pl_datasets WHERE name = 'auth.users_2fa'") == [("postgres://db:5432",)]
    assert raw(
        "SELECT count(*) FROM pl_columns c JOIN pl_datasets d ON d.id = c.dataset_id "
        "WHERE d.name = 'auth.users_2fa'"
    ) == [(4,)]  # phone, email, user_id and the row set


def test_latest_writers_agree_with_the_run_history(store):
    store.record_lineage(run("old", T0), [COPY])
    store.record_lineage(run("new", T0 + timedelta(hours=1)), [COPY])
    store.record_lineage(
        run("reader", T0 + timedelta(hours=2)),
        [Edge(COPY.target, ColumnRef("ads.out", "u"), Subtype.IDENTITY)],
    )
    tables = ["ads.matched", "auth.users_2fa", "ads.out", "nowhere.t"]
    assert store.latest_writers(tables) == {
        "ads.matched": "new",
        "auth.users_2fa": None,
        "ads.out": "reader",
        "nowhere.t": None,
    }
    assert store.latest_writers(tables) == LineageStore.latest_writers(store, tables)


def test_events_of_a_new_run_merged_in_one_drain_then_a_later_event(store, raw):
    # a drain merges what waits in the spool: START and COMPLETE of a run the store has never
    # seen go in one transaction (DuckDB: plain inserts), a later retry's event is an upsert
    from purpose_lineage.store.apply import apply_batches
    from purpose_lineage.store.batch import Batch

    start = Batch.build(run("new", T0, "START"), edges=[COPY], outputs=["ads.matched"])
    done = Batch.build(run("new", T0 + timedelta(seconds=5)), edges=[COPY, JOIN], outputs=["ads.matched"])
    store._run(lambda c: apply_batches(c, [start, done, done]), wait=5.0)
    assert raw("SELECT count(*) FROM pl_run_events") == [(2,)]
    assert raw("SELECT count(*) FROM pl_runs") == [(1,)]
    assert raw("SELECT count(*) FROM pl_edge_runs") == [(2,)]
    assert raw("SELECT count(*) FROM pl_run_datasets WHERE role = 'output'") == [(1,)]
    (record,) = store.runs_for("ads.matched")
    assert (record.state, record.started_at, record.ended_at) == ("COMPLETE", T0, T0 + timedelta(seconds=5))
    # the run is known now: its next event writes over the stored rows, and a replay writes nothing
    late = run("new", T0 + timedelta(seconds=9), "FAIL")
    assert store.record_lineage(late, [COPY, JOIN], outputs=["ads.matched"]) is True
    assert store.record_lineage(late, [COPY, JOIN], outputs=["ads.matched"]) is True
    assert raw("SELECT count(*) FROM pl_run_events") == [(3,)]
    assert raw("SELECT count(*) FROM pl_edge_runs") == [(2,)]
    (record,) = store.runs_for("ads.matched")
    assert (record.state, record.ended_at) == ("FAIL", T0 + timedelta(seconds=9))
    assert store.edges(run_id="new") == sorted([COPY, JOIN])
