"""Sixteen task processes finish at the same moment: every edge arrives, once, with no error."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_support import PG_URL, PLUGINS, count, pg_reachable, reset_postgres

WRITERS = 16
EVENTS = 3  # per writer
EDGES = 40  # unique edges per event

WRITER = f"""
import json, sys, time
sys.path.insert(0, {PLUGINS!r})
from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag
from purpose_lineage.store import open_store
from purpose_lineage.store.base import RunInfo

args = json.loads(sys.argv[1])
store = open_store(args["url"], spool_dir=args["spool"])
i = args["writer"]
time.sleep(max(0.0, args["start_at"] - time.time()))  # everyone starts at the same moment
for k in range({EVENTS}):
    edges = [Edge(ColumnRef(f"src.w{{i}}", f"c{{j}}"), ColumnRef("mart.shared", f"w{{i}}_e{{k}}_c{{j}}"),
                  Subtype.IDENTITY) for j in range({EDGES})]
    # the same edges and tables from every writer: concurrent creation of one row
    edges.append(Edge(ColumnRef("auth.users_2fa", "phone"), ColumnRef("mart.shared", None), Subtype.JOIN))
    edges.append(Edge(ColumnRef("src.common", "id"), ColumnRef("mart.shared", f"k{{k}}"), Subtype.IDENTITY))
    tags = [Tag(ColumnRef("auth.users_2fa", "phone"), "user.contact.phone_number",
                "essential.service.security")]
    store.record_lineage(RunInfo(f"w{{i}}", "COMPLETE", f"2026-01-01T00:00:0{{k}}Z", job_name=f"dag.t{{i}}",
                                 dag_id="dag", task_id=f"t{{i}}"), edges, tags)
print(json.dumps({{"pending": store.pending()}}))
"""


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'lineage.duckdb'}"
    if not pg_reachable():
        pytest.skip("PostgreSQL not reachable")
    reset_postgres()
    return PG_URL


def test_sixteen_processes_write_at_once(url: str, tmp_path: Path):
    spool = tmp_path / "spool"
    start_at = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                json.dumps({"url": url, "spool": str(spool), "writer": i, "start_at": start_at}),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err and "rror" not in err, err
    # the writers drained the spool themselves: nothing waits, nothing was rejected
    assert list((spool).rglob("pending/*.json")) == []
    assert list((spool).rglob("failed/*")) == []
    unique = WRITERS * EVENTS * EDGES
    assert count(url, "SELECT count(*) FROM pl_edges") == unique + 1 + EVENTS
    assert (
        count(url, "SELECT count(DISTINCT (source_id, target_id, subtype)) FROM pl_edges")
        == unique + 1 + EVENTS
    )
    assert count(url, "SELECT count(*) FROM pl_run_events") == WRITERS * EVENTS
    assert count(url, "SELECT count(*) FROM pl_runs") == WRITERS
    assert count(url, "SELECT count(*) FROM pl_datasets WHERE name = 'mart.shared'") == 1
    assert count(url, "SELECT count(*) FROM pl_tags") == 1
    # and the store answers from it
    from purpose_lineage.store import open_store

    store = open_store(url, spool_dir=spool)
    assert len(store.edges_into(["mart.shared"])) == unique + 1 + EVENTS
    assert store.paths_into("mart.shared") == [
        [e] for e in store.edges_into(["mart.shared"]) if e.source.table == "auth.users_2fa"
    ]
