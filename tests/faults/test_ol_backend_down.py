"""OpenLineage HTTP backend down or hanging, on real Airflow (``dag.test()``) with the real
OpenLineage provider and the spooling transport (``purpose_lineage.ol.spool_transport``).

The source and the audience DAGs run with the backend up (events go straight through; the
reference task times), then the violating and the fixed audience DAGs run again with the
backend (A) down: a closed port, (B) hanging: a
real server that accepts and never answers. Expected: every task event is in the local
spool; each emission is cut at the transport's timeout (not at the provider's 60 s
backstop), so tasks finish within a generous bound; the guard's verdicts are unchanged
(violating fails, fixed passes). Then a receiver comes back on the same address and
``purpose-lineage openlineage replay`` runs twice: every spooled event arrives exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.child_findings import findings

HERE = Path(__file__).resolve().parent
FORWARD_TIMEOUT = 1.0  # the bound under test: the HTTP transport's timeout, no retries
pytestmark = pytest.mark.slow

AUDIENCE_TASKS = {
    "tailored_audiences_violating.match_uploaded_list": "COMPLETE",
    "tailored_audiences_violating.guard_and_publish": "FAIL",
    "tailored_audiences_fixed.match_uploaded_list": "COMPLETE",
    "tailored_audiences_fixed.guard_and_publish": "COMPLETE",
}


def _run(home: Path, mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PURPOSE_LINEAGE"))}
    proc = subprocess.run(
        [sys.executable, str(HERE / "ol_backend_run.py"), str(home), mode, str(FORWARD_TIMEOUT)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    return findings(proc)


@pytest.mark.parametrize("mode", ["down", "hang"])
def test_backend_down_or_hanging_bounds_tasks_spools_and_replays_once(tmp_path: Path, mode: str):
    f = _run(tmp_path / "home", mode)
    runs = f["runs"]
    measured = {k: v["durations"] for k, v in runs.items() if k != "sources"}
    print(f"{mode}: task seconds {json.dumps(measured)}; events per task {f['spooled_per_task']}")
    # backend up: delivered at once, nothing waits
    assert runs["sources"]["state"] == "success"
    assert f["received_while_up"] > 0 and f["pending_while_up"] == 0
    # the guard decides as before
    assert runs["tailored_audiences_violating"]["state"] == "failed"
    assert runs["tailored_audiences_violating"]["tasks"]["guard_and_publish"] == "failed"
    assert runs["tailored_audiences_violating"]["verdicts"] == [False]
    assert runs["tailored_audiences_fixed"]["state"] == "success"
    assert runs["tailored_audiences_fixed"]["verdicts"] == [True]
    # no event lost: START and the final event of every task are in the spool
    finals = [f"{t} {e}" for t, e in AUDIENCE_TASKS.items()]
    expected = sorted([f"{t} START" for t in AUDIENCE_TASKS] + finals)
    assert f["spooled_task_events"] == expected
    if mode == "hang":
        # every event reached the hanging server and none was answered: each was cut by the timeout
        assert f["accepted_while_hanging"] == f["spooled"]
    # bounded: each emission costs at most the transport's timeout (plus slack) on top of the
    # same task's time with the backend up; no emission waits for the provider's 60 s backstop
    for dag_id in ("tailored_audiences_violating", "tailored_audiences_fixed"):
        for task, seconds in runs[dag_id]["durations"].items():
            emissions = f["spooled_per_task"][f"{dag_id}.{task}"]
            up = runs[f"{dag_id}_backend_up"]["durations"][task]
            bound = 2 * up + emissions * (FORWARD_TIMEOUT + 1) + 30
            assert seconds < bound, (dag_id, task, seconds, emissions, up)
    # the backend returns: the replay sends every spooled event exactly once; a second sends none
    assert f["replay_rc"] == [0, 0], f["replay_stderr"]
    assert f["replay"] == [{"sent": f["spooled"], "pending": 0}, {"sent": 0, "pending": 0}]
    assert f["spooled_all_received"] and f["received_max_per_event"] == 1
    assert f["pending_at_end"] == 0
