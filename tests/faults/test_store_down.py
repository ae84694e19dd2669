"""Lineage store down mid-run, on real Airflow (``dag.test()``) and a real PostgreSQL store.

The store is reached through a TCP proxy that is stopped between the source pipeline and
the audience pipeline (A), or right after the transform recorded its lineage (B). Expected:
(A) the transform fails (it cannot read its inputs' purposes), nothing is published; (B) the
guard fails closed ("cannot judge ... fails closed") and its verdict waits in the spool; once
the store is back the spool replays exactly once (a second replay adds nothing); the rerun
publishes without duplicating lineage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from store_support import PG_DATABASE_URL, pg_reachable

from helpers.child_findings import findings

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_schema():
    if not pg_reachable(PG_DATABASE_URL):
        pytest.skip("PostgreSQL not reachable")
    name = f"pl_fault_{os.getpid()}"
    conn = psycopg2.connect(PG_DATABASE_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")
    yield f"{PG_DATABASE_URL}?options=-csearch_path%3D{name}"
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    conn.close()


def test_store_down_mid_run_fails_closed_and_replays_once(tmp_path: Path, pg_schema: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PURPOSE_LINEAGE"))}
    proc = subprocess.run(
        [sys.executable, str(HERE / "store_down_run.py"), str(tmp_path / "home"), pg_schema],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    f = findings(proc)
    logs = proc.stdout + proc.stderr
    assert f["sources"] == "success"
    # A: store down before the transform: the transform cannot read its inputs' purposes and
    # fails (retryable); the guard never runs; nothing is published, nothing half-recorded.
    assert f["a_state"] == "failed"
    assert f["a_tasks"] == {"match_uploaded_list": "failed", "guard_and_publish": "upstream_failed"}
    assert f["a_edges"] == f["edges_before"]
    # B: store down after the transform: the guard fails closed with a clear message
    assert f["b_state"] == "failed"
    assert f["b_tasks"] == {"match_uploaded_list": "success", "guard_and_publish": "failed"}
    assert "cannot judge" in logs and "fails closed" in logs
    assert f["b_pending"] >= 1, "the guard's verdict was not spooled"
    assert f["b_verdicts_while_down"] == 0
    # replay: exactly once
    assert f["drained"] == f["b_pending"] and f["drained_again"] == 0 and f["pending_after"] == 0
    assert f["b_verdicts_after"] == [False], "the fail-closed verdict is recorded once"
    assert f["edges_after_drain"] == f["b_edges"] > f["edges_before"]
    # the store is back: the rerun publishes; its edges are the same, not duplicated
    assert f["rerun_state"] == "success"
    # the only new edges are the publish step's copies (B never published): no duplicates
    new = f["rerun_new_edges"]
    assert new and set(new) == {"main.ad_audience_acme__staging_f -> main.ad_audience_acme"}, new
    assert f["edges_after_rerun"] == f["edges_after_drain"] + len(new)
    assert "ad_audience_acme" in f["published_tables"]
