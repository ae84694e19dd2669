"""Run by test_store_down.py in a fresh process: example DAGs against a PostgreSQL lineage store
reached through a TCP proxy that is stopped in the middle of the pipeline.

argv: <airflow home> <postgres url of an empty schema>. Prints one JSON line of findings.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "plugins"), str(ROOT / "tests" / "support")]

import run_examples  # noqa: E402
from store_support import TcpProxy  # noqa: E402

home, pg_url = Path(sys.argv[1]), sys.argv[2]
proxy = TcpProxy()
proxy_url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
run_examples.prepare_environment(home)
import os  # noqa: E402

os.environ["PURPOSE_LINEAGE_STORE_URL"] = proxy_url
run_examples.migrate()

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

from purpose_lineage.store import open_store  # noqa: E402

bag = DagBag(dag_folder=str(ROOT / "dags"))
direct = open_store(pg_url, spool_dir=home / "direct_spool")
out: dict = {}

from purpose_lineage.operators.sql import DuckDBPurposeOperator  # noqa: E402

_execute = DuckDBPurposeOperator.execute
drop_after: set[str] = set()


def execute_then_maybe_drop(self, context):  # fault injection: the store dies right after this task
    result = _execute(self, context)
    if self.task_id in drop_after:
        proxy.stop()
    return result


DuckDBPurposeOperator.execute = execute_then_maybe_drop
spool = Path(os.environ["AIRFLOW__PURPOSE_LINEAGE__SPOOL_DIR"])
spooled_store = open_store(proxy_url, spool_dir=spool)


def tasks(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


proxy.start()
out["sources"] = str(bag.get_dag("incident_sources").test().state)
out["edges_before"] = len(direct.edges())

# A: the store is down before the transform runs
proxy.stop()
a = bag.get_dag("tailored_audiences_fixed").test()
out["a_state"], out["a_tasks"] = str(a.state), tasks(a)
out["a_pending"] = spooled_store.pending()
out["a_edges"] = len(direct.edges())

# B: the store goes down after the transform recorded its lineage, before the guard reads it
proxy.start()
drop_after.add("match_uploaded_list")
b = bag.get_dag("tailored_audiences_fixed").test()
drop_after.clear()
out["b_state"], out["b_tasks"] = str(b.state), tasks(b)
out["b_pending"] = spooled_store.pending()
out["b_verdicts_while_down"] = len(direct.verdicts_for(run_id=b.run_id))
out["b_edges"] = len(direct.edges())

proxy.start()  # the store is back: replay the spool twice (the second must be a no-op)
out["drained"] = spooled_store.drain()
out["drained_again"] = spooled_store.drain()
out["pending_after"] = spooled_store.pending()
out["b_verdicts_after"] = [v.passed for v in direct.verdicts_for(run_id=b.run_id)]
out["edges_after_drain"] = len(direct.edges())
before_rerun = set(direct.edges())
rerun = bag.get_dag("tailored_audiences_fixed").test()
out["rerun_state"] = str(rerun.state)
out["edges_after_rerun"] = len(direct.edges())
new_edges = set(direct.edges()) - before_rerun
out["rerun_new_edges"] = sorted(f"{e.source.table} -> {e.target.table}" for e in new_edges)
import duckdb  # noqa: E402

con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
out["published_tables"] = sorted(
    r[0]
    for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    if r[0].startswith("ad_audience_acme")
)
con.close()
print("FINDINGS " + json.dumps(out), flush=True)
