"""The spool folder, its lock, and the batch format it stores."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource
from purpose_lineage.store.base import Assertion, DatasetInfo, RunInfo, Verdict
from purpose_lineage.store.batch import Batch
from purpose_lineage.store.spool import Spool, file_lock
from purpose_lineage.store.sql import spool_key


def full_batch() -> Batch:
    run = RunInfo(
        "r-1", "complete", "2026-02-03T04:05:06.123456+02:00", "ns", "dag.task", "dag", "task", "me"
    )
    return Batch.build(
        run,
        datasets=[DatasetInfo('"Auth"."Users_2FA"', ("Phone", "user_id"), "postgres://db")],
        edges=[
            Edge(
                ColumnRef("auth.users_2fa", "phone"),
                ColumnRef("ads.m", None),
                Subtype.JOIN,
                False,
                "ON a = b",
            ),
            Edge(ColumnRef("a.b", "x"), ColumnRef("c.d", "y"), "transformation", True),
        ],
        tags=[
            Tag(
                ColumnRef("auth.users_2fa", "phone"),
                "user.contact.phone_number",
                "essential.service.security",
            ),
            Tag(
                ColumnRef("ads.m", None),
                "user.contact",
                "essential",
                TagSource.PROPAGATED,
                ColumnRef("auth.users_2fa", "phone"),
                "r-0",
            ),
        ],
        assertions=[Assertion("ads.m", "not_null", False, "user_id", "error")],
        verdicts=[
            Verdict(
                "r-1",
                "dag",
                "guard",
                "ads.m",
                False,
                [{"rule": "r", "n": 1}],
                5,
                datetime(2026, 2, 3, tzinfo=UTC),
            )
        ],
    )


def test_batch_json_round_trip_is_exact():
    batch = full_batch()
    assert Batch.from_json(batch.to_json()) == batch
    assert batch.run.event_time.isoformat() == "2026-02-03T02:05:06.123456+00:00"
    assert batch.run.event_type == "COMPLETE"
    assert batch.edges[1].subtype is Subtype.TRANSFORMATION
    assert batch.datasets[0] == DatasetInfo("auth.users_2fa", ("phone", "user_id"), "postgres://db")
    assert batch.tags[0].run_id == "r-1" and batch.tags[1].run_id == "r-0"
    assert batch.assertions[0].run_id == "r-1"
    assert batch.inputs == ("auth.users_2fa", "a.b") and batch.outputs == ("ads.m", "c.d")


def test_spool_put_is_atomic_and_ordered(tmp_path):
    spool = Spool(tmp_path)
    paths = [spool.put(f"{i}".encode()) for i in range(5)]
    assert spool.files() == paths
    assert [p.read_bytes() for p in spool.files()] == [b"0", b"1", b"2", b"3", b"4"]
    assert list(spool.tmp_dir.iterdir()) == []
    spool.quarantine(paths[0], "broken")
    assert spool.count() == 4
    assert spool.failed() == [spool.failed_dir / paths[0].name]
    assert (spool.failed_dir / paths[0].name).with_suffix(".reason").read_text() == "broken\n"


def _try_lock(path, queue):
    with file_lock(path, 0.0) as got:
        queue.put(got)


def test_file_lock_excludes_other_processes(tmp_path):
    lock = tmp_path / "x.lock"
    queue = multiprocessing.get_context("spawn").Queue()
    with file_lock(lock, 0.0) as got:
        assert got
        p = multiprocessing.get_context("spawn").Process(target=_try_lock, args=(lock, queue))
        p.start()
        p.join(30)
        assert queue.get(timeout=5) is False
    p = multiprocessing.get_context("spawn").Process(target=_try_lock, args=(lock, queue))
    p.start()
    p.join(30)
    assert queue.get(timeout=5) is True


def test_spool_folders_are_per_store_and_ignore_passwords():
    a = spool_key("postgresql://u:secret@h:5432/db")
    assert a == spool_key("postgresql://u:other@h:5432/db")
    assert a != spool_key("postgresql://u@h:5432/other_db")
    assert "secret" not in a
