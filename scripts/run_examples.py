"""Run every example pipeline on the embedded default, print the verdicts, then start the UI.

Embedded default: SQLite for Airflow's metadata, DuckDB for the warehouse and the lineage
store, OpenLineage events to a local file. Everything lives in ``.airflow-demo/`` (reused
across runs; the warehouse and store are rebuilt each time so verdicts are reproducible).

    python scripts/run_examples.py            # runs, verdict table, then the Airflow UI
    python scripts/run_examples.py --no-ui    # runs and verdicts only (what the tests call)
    python scripts/run_examples.py --json F   # also write the verdicts as JSON to F
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# (dag_id, expected to pass) in run order: sources first, the staging DAG before its reader
EXAMPLES: list[tuple[str, bool]] = [
    ("incident_sources", True),
    ("tailored_audiences_violating", False),
    ("tailored_audiences_fixed", True),
    ("partner_audiences_violating", False),
    ("partner_audiences_fixed", True),
    ("find_by_phone_violating", False),
    ("find_by_phone_fixed", True),
    ("profile_staging", True),
    ("profile_audience_violating", False),
    ("profile_audience_fixed", True),
    ("manual_upload_audience", False),
]


def prepare_environment(home: Path, *, keep: bool = False, dags: Path | None = None) -> dict[str, str]:
    """Set the process environment for the embedded default; returns what was set."""
    env = example_env(home, keep=keep, dags=dags)
    os.environ.update(env)
    return env


def example_env(home: Path, *, keep: bool = False, dags: Path | None = None) -> dict[str, str]:
    """Prepare ``home`` and return the embedded default's settings (the environment is untouched).

    ``dags``: another folder of example DAGs (tests run patched copies); default ``dags/``.
    """
    home.mkdir(parents=True, exist_ok=True)
    for stale in () if keep else ("warehouse.duckdb", "purpose_lineage.duckdb", "openlineage_events.jsonl"):
        (home / stale).unlink(missing_ok=True)
    for stale in () if keep else ("purpose_lineage_spool", "data_docs"):
        shutil.rmtree(home / stale, ignore_errors=True)
    # SimpleAuthManager generates missing passwords into this file; a known one for the demo
    passwords = home / "simple_auth_manager_passwords.json.generated"
    if not passwords.exists():
        passwords.write_text(json.dumps({"admin": "admin"}))
    key_file = home / "fingerprint.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags or ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(home / "openlineage_events.jsonl"), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "duckdb", "host": str(home / "warehouse.duckdb")}),
        "AIRFLOW_CONN_PURPOSE_LINEAGE_FINGERPRINT": json.dumps(
            {"conn_type": "generic", "password": key_file.read_text().strip()}
        ),
        "PURPOSE_LINEAGE_STORE_URL": f"duckdb:///{home / 'purpose_lineage.duckdb'}",
        "AIRFLOW__PURPOSE_LINEAGE__EXPECTATIONS_DIR": str(ROOT / "expectations"),
        "AIRFLOW__PURPOSE_LINEAGE__SPOOL_DIR": str(home / "purpose_lineage_spool"),
        "AIRFLOW__PURPOSE_LINEAGE__DATA_DOCS_DIR": str(home / "data_docs"),
    }


def migrate() -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)


def run_examples(dag_ids: list[str] | None = None) -> list[dict]:
    """Run the example DAGs for real (``dag.test()``) and return one verdict row per DAG."""
    import logging

    from airflow.dag_processing.dagbag import DagBag

    from purpose_lineage.store import open_store

    logging.getLogger("airflow").setLevel(logging.WARNING)
    bag = DagBag(dag_folder=os.environ.get("AIRFLOW__CORE__DAGS_FOLDER") or str(ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"example DAGs failed to import: {bag.import_errors}")
    store = open_store(os.environ["PURPOSE_LINEAGE_STORE_URL"])
    rows = []
    for dag_id, _ in EXAMPLES:
        if dag_ids and dag_id not in dag_ids:
            continue
        started = time.perf_counter()
        run = bag.get_dag(dag_id).test()
        rows.append(verdict_row(store, dag_id, run.run_id, str(run.state)))
        rows[-1]["seconds"] = round(time.perf_counter() - started, 2)
        print(f"  ran {dag_id:<30} {rows[-1]['state']:<8} {rows[-1]['seconds']:>6.1f}s", file=sys.stderr)
    return rows


def verdict_row(store: Any, dag_id: str, run_id: str, state: str) -> dict:
    """One verdict row: the run's state, its expected state and its first failed verdict."""
    verdicts = store.verdicts_for(run_id=run_id)
    failed = [v for v in verdicts if not v.passed]
    first = failed[0] if failed else None
    violation = first.violations[0] if first and first.violations else None
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "state": state,
        "expected": "success" if dict(EXAMPLES)[dag_id] else "failed",
        "sink": first.sink if first else (verdicts[0].sink if verdicts else None),
        "rule": violation["rule"] if violation else None,
        "path": _path_text(violation) if violation else None,
        "affected": first.affected_count if first else None,
    }


def _path_text(violation: dict) -> str:
    hops = []
    for hop in violation["path"]:
        name = f"{hop['table']}.{hop['column']}" if hop.get("column") else hop["table"]
        hops.append(f"-{hop['edge']}-> {name}" if hop.get("edge") else name)
    return " ".join(hops)


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'DAG':<30} {'RESULT':<8} {'OK?':<4} {'RULE':<42} {'AFFECTED':>8}")
    print("-" * 96)
    for r in rows:
        ok = "yes" if r["state"] == r["expected"] else "NO"
        print(f"{r['dag_id']:<30} {r['state']:<8} {ok:<4} {r['rule'] or '-':<42} {r['affected'] or '-':>8}")
        if r["path"]:
            print(f"    path: {r['path']}")
    print()


def start_ui(home: Path) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
    print(f"Starting the Airflow UI on http://localhost:8080  - log in as admin / {password}")
    print("Lineage page: http://localhost:8080/plugin/purpose-lineage (or /purpose-lineage/ui/)")
    subprocess.run([airflow, "api-server", "--port", "8080"], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ui", action="store_true", help="do not start the UI after the runs")
    parser.add_argument("--json", metavar="FILE", help="also write the verdicts as JSON to FILE")
    parser.add_argument("--home", default=str(ROOT / ".airflow-demo"))
    parser.add_argument("--only", nargs="*", help="run only these DAG ids (in the usual order)")
    parser.add_argument("--dags", help="run the example DAGs of this folder instead of dags/")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse and store of the last run")
    args = parser.parse_args()
    home = Path(args.home).resolve()
    prepare_environment(home, keep=args.keep, dags=Path(args.dags).resolve() if args.dags else None)
    print(f"Airflow home: {home}", file=sys.stderr)
    migrate()
    started = time.perf_counter()
    rows = run_examples(args.only)
    print(f"ran {len(rows)} example DAGs in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    if args.json:  # a file: task logs share stdout under dag.test()
        Path(args.json).write_text(json.dumps(rows, indent=2))
    print_table(rows)
    mismatches = [r["dag_id"] for r in rows if r["state"] != r["expected"]]
    if mismatches:
        print(f"unexpected verdicts: {mismatches}", file=sys.stderr)
        return 1
    if not args.no_ui:
        start_ui(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
