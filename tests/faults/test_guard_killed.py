"""A worker SIGKILLed during the guard, on real Airflow (``dag.test()``), DuckDB and GX.

The guard runs ``tailored_audiences_fixed`` in a subprocess; the warehouse already holds an
old ``ad_audience_acme`` and a source changed since, so the new audience differs. The worker
is killed at each named point of the guard (``fault_points.GUARD_POINTS``: during the GX
validation, inside the publish transaction after the DROP and after the RENAME, after the
commit, after everything) and at a random moment of a whole run. After each kill the
published table is the old one or the complete new one (row count and checksum), never
missing or partial. Then the retry (the guard alone, same Airflow run, or the whole run
for random kills) ends in the state of an uninterrupted run: same published table, no
staging table left, the same verdicts and the same lineage edges in the store.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from helpers.child_findings import findings
from purpose_lineage.operators.fault_points import GUARD_POINTS, MARKER_ENV, PAUSE_ENV

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "guard_kill_run.py"
TARGET, STAGING = "ad_audience_acme", "ad_audience_acme__staging_f"
RANDOM_KILLS = int(os.environ.get("PURPOSE_LINEAGE_RANDOM_KILLS", "1"))  # two full runs each
BEFORE_COMMIT = ("guard.validating", "guard.judged", "publish.dropped", "publish.renamed")
pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PURPOSE_LINEAGE"))}
    return {**env, **extra}


def _runner(*args: str, **env: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(RUNNER), *args], capture_output=True, text=True, env=_env(**env), timeout=600
    )
    return findings(proc)


def published(home: Path) -> dict:
    """The warehouse as a reader sees it: the published table's rows and checksum, staging, marker."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        table = None
        if TARGET in tables:
            count, digest = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) "
                f"ORDER BY CAST(t AS VARCHAR)), '')) FROM {TARGET} t"
            ).fetchone()
            table = {"rows": count, "md5": digest}
        marker = None
        if "pl_guard_publications" in tables:
            marker = con.execute("SELECT target, run_key FROM pl_guard_publications").fetchall()
        return {"table": table, "staging": STAGING in tables, "marker": marker}
    finally:
        con.close()


def recorded(home: Path, run_id: str) -> dict:
    """What the lineage store holds about the run: verdict contents and every edge."""
    from purpose_lineage.store import open_store

    store = open_store(f"duckdb:///{home / 'purpose_lineage.duckdb'}", spool_dir=home / "spool_unused")
    try:
        verdicts = sorted(
            json.dumps([v.task_id, v.sink, v.passed, list(v.violations), v.affected_count], sort_keys=True)
            for v in store.verdicts_for(run_id=run_id)
        )
        edges = sorted(str(e) for e in store.edges())
        return {"verdicts": verdicts, "edges": edges}
    finally:
        store.close()


def final_state(home: Path, run_id: str) -> dict:
    return {**published(home), **recorded(home, run_id)}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """A home with the old table published and the sources changed; plus the reference run."""
    root = tmp_path_factory.mktemp("guard_killed")
    base_home = root / "base"
    prep = _runner("prepare", str(base_home))
    assert prep["states"] == ["success", "success"]
    old = published(base_home)["table"]
    ref_home = root / "reference"
    shutil.copytree(base_home, ref_home)
    started = time.monotonic()
    ref = _runner("run", str(ref_home))
    seconds = time.monotonic() - started
    assert ref["state"] == "success", ref
    reference = final_state(ref_home, ref["run_id"])
    assert old and reference["table"] and reference["table"] != old, "the new audience must differ"
    return {
        "root": root,
        "home": base_home,
        "old": old,
        "run_id": ref["run_id"],
        "ref": reference,
        "s": seconds,
    }


def _copy(base: dict, name: str) -> Path:
    home = base["root"] / name
    shutil.copytree(base["home"], home)
    return home


def _kill_at(home: Path, point: str) -> None:
    marker = home / "paused_at"
    proc = subprocess.Popen(
        [sys.executable, str(RUNNER), "run", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(**{PAUSE_ENV: point, MARKER_ENV: str(marker)}),
    )
    try:
        deadline = time.monotonic() + 600
        while not marker.exists():
            assert proc.poll() is None, f"the run ended before reaching {point}"
            assert time.monotonic() < deadline, f"never reached {point}"
            time.sleep(0.2)
        assert marker.read_text() == point
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("point", GUARD_POINTS)
def test_killed_at_point_never_half_publishes_and_retry_converges(base: dict, point: str):
    home = _copy(base, point.replace(".", "_"))
    _kill_at(home, point)
    after_kill = published(home)
    # a reader sees the old table or the complete new one, never a missing or partial one
    expected = base["old"] if point in BEFORE_COMMIT else base["ref"]["table"]
    assert after_kill["table"] == expected, (point, after_kill)
    assert after_kill["staging"] == (point in BEFORE_COMMIT)
    # the retry of the guard alone (same Airflow run; the transform's output is in place)
    retry = _runner("run", str(home), "match_uploaded_list")
    assert retry["tasks"]["guard_and_publish"] == "success", (point, retry)
    assert final_state(home, base["run_id"]) == base["ref"], point


def test_killed_at_random_moments_never_half_publishes(base: dict):
    rng = random.Random(8)
    for i in range(RANDOM_KILLS):
        home = _copy(base, f"random_{i}")
        proc = subprocess.Popen(
            [sys.executable, str(RUNNER), "run", str(home)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(),
        )
        time.sleep(rng.uniform(0.4, 1.0) * base["s"])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert published(home)["table"] in (base["old"], base["ref"]["table"])
        rerun = _runner("run", str(home))  # the whole run again: the transform rewrites staging
        assert rerun["state"] == "success", rerun
        assert final_state(home, base["run_id"]) == base["ref"]
