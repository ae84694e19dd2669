"""Run by test_ol_backend_down.py in a fresh process: example DAGs on real Airflow with the real
OpenLineage provider emitting through the spooling transport to an HTTP backend that is down
(closed port) or hanging (accepts, never answers), after the DAGs ran with the backend
up; then the backend returns and the spool is replayed with ``purpose-lineage openlineage
replay``, twice. The audience DAGs also run before the fault, with the backend up: the
reference durations (in a warm process, like the runs under the fault).

argv: <airflow home> <down|hang> <forward timeout s>. Prints one JSON line of findings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "plugins"), str(ROOT / "tests" / "support")]

import run_examples  # noqa: E402
from ol_backends import EventReceiver, HangingServer, event_identity, free_port  # noqa: E402

home, mode, forward_timeout = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
EXECUTION_TIMEOUT = 60  # the provider's backstop, far above the transport's own bound
port = free_port()
spool_dir = home / "ol_spool"
run_examples.prepare_environment(home)
transport = {
    "type": "purpose_lineage.ol.spool_transport.SpoolingTransport",
    "spool_dir": str(spool_dir),
    "retry_after": 0,  # worst case: every event tries the backend (no skipping after a failure)
    "transport": {
        "type": "http",
        "url": f"http://127.0.0.1:{port}",
        "timeout": forward_timeout,
        "retry": {"total": 0},
    },
}
os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
os.environ["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = str(EXECUTION_TIMEOUT)
run_examples.migrate()

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

from purpose_lineage.ol.spool_transport import EventSpool  # noqa: E402
from purpose_lineage.store import open_store  # noqa: E402

bag = DagBag(dag_folder=str(ROOT / "dags"))
store = open_store(os.environ["PURPOSE_LINEAGE_STORE_URL"])
spool = EventSpool(spool_dir)
out: dict = {"runs": {}, "execution_timeout": EXECUTION_TIMEOUT}


def run_dag(dag_id: str, label: str) -> None:
    run = bag.get_dag(dag_id).test()
    tis = run.get_task_instances()
    out["runs"][label] = {
        "state": str(run.state),
        "tasks": {ti.task_id: str(ti.state) for ti in tis},
        "durations": {ti.task_id: ti.duration for ti in tis},
        "verdicts": [v.passed for v in store.verdicts_for(run_id=run.run_id)],
    }


def settle_spool(receiver: EventReceiver | None = None) -> None:
    """Wait until no event is being spooled or forwarded (counts unchanged for 4 checks)."""
    last, stable = None, 0
    for _ in range(120):
        count = (len(spool.pending()), len(receiver.lines()) if receiver else 0)
        stable = stable + 1 if count == last else 0
        if stable >= 4:
            return
        last = count
        time.sleep(max(forward_timeout, 0.5))


# the backend is up: events go straight through, nothing waits in the spool
receiver = EventReceiver(port, home / "received_up.jsonl")
run_dag("incident_sources", "sources")
for dag_id in ("tailored_audiences_violating", "tailored_audiences_fixed"):  # reference durations, warm
    run_dag(dag_id, f"{dag_id}_backend_up")
settle_spool(receiver)  # the DAG-run events are emitted asynchronously, after dag.test() returns
out["pending_while_up"] = len(spool.pending())
out["received_while_up"] = len(receiver.events)
up_counts = receiver.counts()
receiver.stop()

# the backend is down (nothing listens) or hangs (accepts, never answers)
hanging = HangingServer(port, home / "hung.txt") if mode == "hang" else None
for dag_id in ("tailored_audiences_violating", "tailored_audiences_fixed"):
    run_dag(dag_id, dag_id)
settle_spool()  # the DAG-run events are emitted asynchronously, after dag.test() returns
out["accepted_while_hanging"] = hanging.accepted if hanging else None
spooled = [spool.read(k) for k in spool.pending()]
out["spooled"] = len(spooled)
out["spooled_per_task"] = dict(
    Counter(".".join(e["job"]["name"].split(".")[:2]) for e in spooled if e["job"]["name"].count(".") >= 1)
)
out["spooled_task_events"] = sorted(
    f"{e['job']['name']} {e['eventType']}" for e in spooled if e["job"]["name"].count(".") == 1
)
spooled_ids = {event_identity(e) for e in spooled}

# the backend returns on the same address; replay twice with the configured transport
if hanging:
    hanging.stop()
receiver = EventReceiver(port, home / "received.jsonl")
cli = [sys.executable, "-m", "purpose_lineage.cli", "openlineage", "--format", "json", "replay"]
first = subprocess.run(cli, capture_output=True, text=True, env=os.environ.copy())
second = subprocess.run(cli, capture_output=True, text=True, env=os.environ.copy())
out["replay_rc"] = [first.returncode, second.returncode]
out["replay"] = [json.loads(first.stdout or "{}"), json.loads(second.stdout or "{}")]
out["replay_stderr"] = (first.stderr + second.stderr)[-2000:]
counts = receiver.counts() + up_counts
out["received"] = len(receiver.events)
out["received_max_per_event"] = max(counts.values(), default=0)
out["spooled_all_received"] = spooled_ids <= set(counts)
out["pending_at_end"] = len(spool.pending())
receiver.stop()
print("FINDINGS " + json.dumps(out), flush=True)
