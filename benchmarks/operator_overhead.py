"""Per-task overhead of the purpose-lineage transform operator over a bare SQL run.

Both sides run the same statement on the same DuckDB warehouse through the same hook.
The operator side is what a task with OpenLineage enabled runs on a fresh operator: the
start facets, the real ``DuckDBPurposeOperator.execute`` (lineage analysis with the warehouse
catalog, upstream lineage from the store, propagation, policy evaluation, store write) and
the complete facets. The bare side runs the statement through a fresh hook. Imports are
paid once (the benchmark is one process). Goal: median overhead < 50 ms.

``--backend postgres`` runs the same with ``PurposeSQLOperator`` on a PostgreSQL warehouse and
a PostgreSQL lineage store (database ``pl_overhead_bench`` on 127.0.0.1:5432, created and
emptied by the run; ``PURPOSE_LINEAGE_BENCH_PG`` overrides the server URL).

    python benchmarks/operator_overhead.py [--runs N] [--quick] [--backend duckdb|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

HOME = Path(tempfile.mkdtemp(prefix="pl-bench-op-"))
os.environ.setdefault("AIRFLOW_HOME", str(HOME))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
PG_SERVER = os.environ.get("PURPOSE_LINEAGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PG_DB = "pl_overhead_bench"

SEED = """
CREATE OR REPLACE TABLE users_2fa AS SELECT i AS user_id,
  '+1415555' || lpad(i::VARCHAR, 4, '0') AS phone_number, i % 2 = 0 AS active FROM range(1000) t(i);
CREATE OR REPLACE TABLE advertiser_list AS SELECT i % 50 AS campaign_id,
  sha256('+1415555' || lpad(i::VARCHAR, 4, '0')) AS phone_sha256 FROM range(0, 1000, 3) t(i);
"""
STATEMENT = (
    "CREATE OR REPLACE TABLE ad_audience_acme__staging AS SELECT a.campaign_id, u.user_id "
    "FROM advertiser_list a JOIN users_2fa u ON a.phone_sha256 = sha256(u.phone_number) WHERE u.active"
)
PG_SEED = """
DROP TABLE IF EXISTS users_2fa, advertiser_list, ad_audience_acme__staging;
CREATE TABLE users_2fa AS SELECT i AS user_id,
  '+1415555' || lpad(i::text, 4, '0') AS phone_number, i % 2 = 0 AS active FROM generate_series(0, 999) i;
CREATE TABLE advertiser_list AS SELECT i % 50 AS campaign_id,
  encode(sha256(('+1415555' || lpad(i::text, 4, '0'))::bytea), 'hex') AS phone_sha256
  FROM generate_series(0, 999, 3) i;
"""
PG_STATEMENT = (
    "DROP TABLE IF EXISTS ad_audience_acme__staging; "
    "CREATE TABLE ad_audience_acme__staging AS SELECT a.campaign_id, u.user_id "
    "FROM advertiser_list a JOIN users_2fa u "
    "ON a.phone_sha256 = encode(sha256(u.phone_number::bytea), 'hex') WHERE u.active"
)


def use_postgres() -> None:
    """A fresh database for the warehouse and the store (schemas public and purpose_lineage)."""
    import psycopg2

    admin = psycopg2.connect(f"{PG_SERVER}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS " + PG_DB + " WITH (FORCE)")
        cur.execute("CREATE DATABASE " + PG_DB)
    admin.close()
    host = PG_SERVER.split("://", 1)[1]
    user, address = host.split("@", 1)
    name, port = address.split(":")
    os.environ["AIRFLOW_CONN_WAREHOUSE"] = json.dumps(
        {"conn_type": "postgres", "host": name, "port": int(port), "login": user, "schema": PG_DB}
    )
    os.environ["PURPOSE_LINEAGE_STORE_URL"] = f"{PG_SERVER}/{PG_DB}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("duckdb", "postgres"), default="duckdb")
    args = parser.parse_args()
    runs = 10 if args.quick else args.runs
    if args.backend == "postgres":
        use_postgres()
        seed, statement = PG_SEED, PG_STATEMENT
    else:
        os.environ["AIRFLOW_CONN_WAREHOUSE"] = json.dumps(
            {"conn_type": "duckdb", "host": str(HOME / "wh.duckdb")}
        )
        os.environ["PURPOSE_LINEAGE_STORE_URL"] = f"duckdb:///{HOME / 'store.duckdb'}"
        seed, statement = SEED, STATEMENT

    from purpose_lineage.operators.sql import DuckDBPurposeOperator, PurposeSQLOperator
    from purpose_lineage.operators.tags import build_tags
    from purpose_lineage.store import open_store

    store = open_store(os.environ["PURPOSE_LINEAGE_STORE_URL"])
    store.record_tags(
        build_tags(
            f"{'main' if args.backend == 'duckdb' else 'public'}.users_2fa",
            {"phone_number": ("user.contact.phone_number", "essential.service.security")},
        )
    )
    operator = DuckDBPurposeOperator if args.backend == "duckdb" else PurposeSQLOperator
    hook = operator(task_id="seed", conn_id="warehouse", sql=seed).get_db_hook()
    hook.run(seed)
    if args.backend == "postgres":
        hook.get_conn().close()  # psycopg2: the seed's connection is not kept

    def context(i: int) -> dict:
        ti = SimpleNamespace(
            dag_id="bench",
            run_id=f"run{i}",
            task_id="bench",
            start_date=datetime.now(UTC),
            xcom_push=lambda **kw: None,
        )
        return {"ti": ti}

    # Each task process builds its operator, hook, policy and store afresh: so does each round.
    # The operator side is what a task with OpenLineage enabled runs: start facets, execute
    # (SQL, parsing, catalog, upstream read, propagation, policy, store write), complete facets.
    # CPU time (all threads of the process) is reported too: on a busy machine wall time
    # mostly measures waiting for a core.
    bare, full, cpu_over = [], [], []
    for i in range(runs + 2):
        plain = operator(task_id="bare", conn_id="warehouse", sql=statement)
        op = operator(task_id="bench", conn_id="warehouse", sql=statement)
        ctx = context(i)
        t0, c0 = time.perf_counter(), time.process_time()
        plain.get_db_hook().run(statement)
        t1, c1 = time.perf_counter(), time.process_time()
        op.get_openlineage_facets_on_start()
        op.execute(ctx)
        lineage = op.get_openlineage_facets_on_complete(ctx["ti"])
        t2, c2 = time.perf_counter(), time.process_time()
        assert lineage.outputs and op._result is not None and op._result.violations  # the real path ran
        if i >= 2:  # warm-up
            bare.append(t1 - t0)
            full.append(t2 - t1)
            cpu_over.append((c2 - c1) - (c1 - c0))
    b, f = statistics.median(bare), statistics.median(full)
    over = [x - y for x, y in zip(full, bare, strict=True)]
    print(f"statement: incident join on a 1k-row {args.backend} warehouse, {runs} runs")
    print(f"bare hook.run (baseline)         : {b * 1000:7.1f} ms median")
    print(f"operator execute + OL facets     : {f * 1000:7.1f} ms median  ratio {f / b:.1f}x")
    print(f"overhead per task (median)       : {statistics.median(over) * 1000:7.1f} ms  (goal < 50 ms)")
    print(f"overhead per task (p90)          : {sorted(over)[int(0.9 * len(over))] * 1000:7.1f} ms")
    print(f"overhead per task, CPU (median)  : {statistics.median(cpu_over) * 1000:7.1f} ms")
    print("load average (1, 5, 15 min)      : {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
