"""Run by test_guard_killed.py in a fresh process, one step per call, so the test can SIGKILL it.

    guard_kill_run.py prepare HOME   sources and a first publish of ad_audience_acme (the "old"
                                     table), then a source change so the next publish differs
    guard_kill_run.py run HOME [SKIP] tailored_audiences_fixed for one fixed logical date (so a
                                     rerun is the same Airflow run); task ids matching the regex
                                     SKIP are marked success instead of run (a retry of the guard
                                     alone). Prints one JSON line with the states.

With ``PURPOSE_LINEAGE_FAULT_PAUSE_AT`` set, the guard pauses at that point (see
``purpose_lineage.operators.fault_points``) until the test kills this process.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "plugins")]

import run_examples  # noqa: E402

LOGICAL_DATE = datetime(2026, 3, 1, tzinfo=UTC)
DAG_ID = "tailored_audiences_fixed"
# one consented contact matched by the advertiser's list leaves: the next audience is smaller
SOURCE_CHANGE = """
DELETE FROM marketing_contacts WHERE user_id = (
    SELECT min(m.user_id) FROM marketing_contacts m
    JOIN advertiser_uploads a ON a.phone_sha256 = sha256(m.phone)
    WHERE a.advertiser = 'acme' AND m.consented)
"""

mode, home = sys.argv[1], Path(sys.argv[2])
run_examples.prepare_environment(home, keep=mode != "prepare")

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

if mode == "prepare":
    run_examples.migrate()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    states = [str(bag.get_dag(d).test().state) for d in ("incident_sources", DAG_ID)]
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute(SOURCE_CHANGE)
    con.close()
    print("FINDINGS " + json.dumps({"states": states}), flush=True)
else:
    skip = sys.argv[3] if len(sys.argv) > 3 else None
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    dag = bag.get_dag(DAG_ID)
    run = dag.test(logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE, mark_success_pattern=skip)
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    found = {"state": str(run.state), "run_id": run.run_id, "tasks": tasks}
    print("FINDINGS " + json.dumps(found), flush=True)
