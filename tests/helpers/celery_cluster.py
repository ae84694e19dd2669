"""A real Airflow 3 deployment with the CeleryExecutor on this machine, for the scale-out test.

PostgreSQL holds Airflow's metadata and the Celery results, Redis is the broker, and the
processes are the ones a deployment runs: ``api-server`` (which also serves the task
execution API the workers call), ``scheduler``, ``dag-processor`` and two ``airflow celery
worker`` processes. Every process runs in its own session so that :meth:`CeleryCluster.stop`
can end it with all its children, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
TERMINAL = ("success", "failed")

# Airflow stores the worker's hostname on each task instance; two workers on one machine
# would both report the machine's name, so each worker names itself from its environment.
HOSTNAME_MODULE = """import os


def worker_name() -> str:
    return os.environ.get("PL_WORKER_NAME") or __import__("socket").getfqdn()
"""


# DuckDB lets one process at a time open a file for writing: every task on the DuckDB
# warehouse connection takes the one slot of this pool (an Airflow cluster policy).
WAREHOUSE_POOL = "duckdb_warehouse"
WAREHOUSE_POLICY = f'''WAREHOUSE_POOL = "{WAREHOUSE_POOL}"


def task_policy(task):
    if getattr(task, "conn_id", None) == "warehouse":
        task.pool = WAREHOUSE_POOL
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=2):
        return True
    return False


def _admin(sql: str) -> None:
    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def recreate_database(name: str) -> str:
    """Drop and create ``name`` on the local server; returns its URL."""
    drop_database(name)
    _admin(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class CeleryCluster:
    """The processes of one CeleryExecutor deployment sharing ``env``."""

    home: Path
    env: dict[str, str]
    meta_url: str
    workers: tuple[str, ...] = ("celery-worker-1", "celery-worker-2")
    concurrency: int = 2
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return self.env["AIRFLOW__API__BASE_URL"]

    # -- processes ---------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str], **extra_env: str) -> None:
        log = (self.home / "process-logs" / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [AIRFLOW, *args],
            env={**self.env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends the children too
        )
        log.close()

    def airflow(self, *args: str, timeout: float = 120) -> str:
        out = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if out.returncode != 0:
            command = " ".join(args)
            raise RuntimeError(f"airflow {command} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
        return out.stdout

    def start(self, *, timeout: float = 240) -> None:
        """Start every component and wait until the API answers and both workers are ready."""
        (self.home / "process-logs").mkdir(parents=True, exist_ok=True)
        port = self.env["AIRFLOW__API__PORT"]
        self._spawn("api-server", ["api-server", "--port", port, "--workers", "1"])
        self._spawn("scheduler", ["scheduler"])
        self._spawn("dag-processor", ["dag-processor"])
        queue = self.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
        for name in self.workers:
            self._spawn(
                name,
                # --skip-serve-logs: two workers on one machine cannot both bind the log port;
                # the API server reads the task logs from the shared AIRFLOW_HOME instead
                ["celery", "worker", "-H", f"{name}@%h", "-q", queue, "-c", str(self.concurrency)]
                + ["--skip-serve-logs", "--without-gossip", "--without-mingle"],
                PL_WORKER_NAME=name,
                AIRFLOW__CORE__HOSTNAME_CALLABLE="pl_worker_name.worker_name",
            )
        deadline = time.monotonic() + timeout
        while not (self._api_up() and all(self._worker_ready(w) for w in self.workers)):
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not start within {timeout:.0f}s\n{self.diagnostics()}")
            time.sleep(1)

    def _api_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=3) as r:
                return r.status == 200
        except OSError:
            return False

    def _worker_ready(self, name: str) -> bool:
        log = self.home / "process-logs" / f"{name}.log"
        return log.exists() and re.search(rf"{name}@\S+ ready\.", log.read_text(errors="replace")) is not None

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"cluster processes exited: {dead}\n{self.diagnostics()}")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM every process group, then SIGKILL what is left after ``timeout`` seconds."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # children a clean exit left behind
            proc.wait()

    def diagnostics(self, chars: int = 3000) -> str:
        parts = []
        for log in sorted((self.home / "process-logs").glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    # -- metadata ----------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        conn = psycopg2.connect(self.meta_url)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, tuple(params))
                return cur.fetchall()
        finally:
            conn.close()

    def wait_parsed(self, dag_ids: Iterable[str], timeout: float = 180) -> None:
        wanted = set(dag_ids)
        deadline = time.monotonic() + timeout
        while True:
            found = {r[0] for r in self.query("SELECT dag_id FROM serialized_dag")}
            if wanted <= found:
                return
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAGs not parsed: {sorted(wanted - found)}\n{self.diagnostics()}")
            time.sleep(1)

    def trigger(self, runs: dict[str, str]) -> None:
        """Trigger every ``dag_id: run_id`` at once through the REST API, as a remote client would.

        (``airflow dags trigger`` does the same through the metadata DB, but each call costs
        a full Airflow start: several seconds of CPU on a 2-core machine.)
        """
        token = self._token()
        with ThreadPoolExecutor(len(runs)) as pool:
            list(pool.map(lambda item: self._post_run(token, *item), runs.items()))

    def _token(self) -> str:
        body = json.dumps({"username": "admin", "password": "admin"}).encode()
        request = urllib.request.Request(
            f"{self.api_url}/auth/token", body, {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as r:
            return json.load(r)["access_token"]

    def _post_run(self, token: str, dag_id: str, run_id: str) -> None:
        body = json.dumps({"dag_run_id": run_id, "logical_date": None}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        request = urllib.request.Request(
            f"{self.api_url}/api/v2/dags/{dag_id}/dagRuns", body, headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as r:
            assert r.status == 200, (dag_id, r.status)

    def wait_runs(self, runs: dict[str, str], timeout: float = 900) -> dict[str, str]:
        """Poll until every run is finished; returns ``dag_id: state``."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query(
                "SELECT dag_id, state FROM dag_run WHERE run_id = ANY(%s)", [list(runs.values())]
            )
            states = {d: s for d, s in rows if runs.get(d)}
            if len(states) == len(runs) and all(s in TERMINAL for s in states.values()):
                return states
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs not finished: {states}\n{self.diagnostics()}")
            time.sleep(2)


def cluster_env(home: Path, dags: Path, *, meta_url: str, base: dict[str, str], queue: str) -> dict[str, str]:
    """The settings every component of the deployment shares (see docs/how-to/postgres-celery.md)."""
    port = str(free_port())
    config = home / "config"  # on sys.path of every Airflow process
    config.mkdir(parents=True, exist_ok=True)
    (config / "pl_worker_name.py").write_text(HOSTNAME_MODULE)
    (config / "airflow_local_settings.py").write_text(WAREHOUSE_POLICY)
    meta = meta_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    return {
        **base,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta,
        "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_url,
        # a queue of our own: other users of the same Redis never take these tasks
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__API__PORT": port,
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # every process must sign and check the workers' tokens with the same secret
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(24).hex(),
        "AIRFLOW__API__SECRET_KEY": os.urandom(24).hex(),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "PYTHONPATH": os.pathsep.join(p for p in (base.get("PYTHONPATH"), str(config)) if p),
    }


@contextlib.contextmanager
def running(cluster: CeleryCluster) -> Iterator[CeleryCluster]:
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))
