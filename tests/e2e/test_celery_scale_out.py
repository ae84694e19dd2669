"""Issue 8 acceptance, scale-out for real: the example pipelines on Airflow 3 with the CeleryExecutor
give the same verdicts, lineage store contents and alerts as on the embedded default.

The deployment (tests/helpers/celery_cluster.py): PostgreSQL for Airflow's metadata and for
the lineage store, Redis as the broker, the api-server (task execution API), scheduler,
dag-processor and two ``airflow celery worker`` processes. The runs are triggered with
``airflow dags trigger`` in three waves, each wave at once: the sources, then the eight DAGs
that only need the sources, then the two that read ``profile_staging``'s table. The DuckDB
warehouse takes one writer at a time, so its tasks share an Airflow pool of one slot,
assigned by a cluster policy (docs/how-to/scale-out.md).

The reference is ``scripts/run_examples.py`` (the embedded default) on the same patched
DAGs: every guard gets a webhook alert notifier (as its ``notifier`` and its task's
``on_failure_callback``, so the ledger's duplicate suppression is crossed too).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from tests.helpers.alert_receivers import HttpReceiver, http_conn
from tests.helpers.celery_cluster import (
    WAREHOUSE_POOL,
    CeleryCluster,
    cluster_env,
    drop_database,
    reachable,
    recreate_database,
    running,
)
from tests.helpers.identifiers import read_tree, scan, warehouse_identifiers

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

_spec = importlib.util.spec_from_file_location("run_examples", ROOT / "scripts" / "run_examples.py")
rx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rx)

# databases of this test run only: a suite running beside it on the same server keeps its own
META_DB, STORE_DB = f"pl_celery_meta_{os.getpid()}", f"pl_celery_store_{os.getpid()}"
WAVES = [
    ["incident_sources"],
    [
        "tailored_audiences_violating",
        "tailored_audiences_fixed",
        "partner_audiences_violating",
        "partner_audiences_fixed",
        "find_by_phone_violating",
        "find_by_phone_fixed",
        "profile_staging",
        "manual_upload_audience",
    ],
    ["profile_audience_violating", "profile_audience_fixed"],
]
NOTIFIER = 'send_purpose_alert(webhook_conn_id="alert_webhook", webhook_endpoint="/siem", max_attempts=2)'
GUARD_IMPORT = "from purpose_lineage.operators.guard import PurposeGuardOperator"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PURPOSE_LINEAGE"))}
    env["PYTHONPATH"] = str(ROOT / "plugins")
    return env


def _patched_dags(folder: Path) -> Path:
    """The example DAGs, every guard with the webhook alert notifier."""
    shutil.copytree(ROOT / "dags", folder, ignore=shutil.ignore_patterns("__pycache__"))
    guarded = 0
    for dag_file in folder.glob("*.py"):
        text = dag_file.read_text()
        if GUARD_IMPORT not in text:
            continue
        text = text.replace(
            GUARD_IMPORT,
            f"from purpose_lineage.notifications.alert import send_purpose_alert\n{GUARD_IMPORT}",
        ).replace(
            'PurposeGuardOperator(\n        task_id="guard_and_publish",',
            'PurposeGuardOperator(\n        task_id="guard_and_publish",\n'
            f"        notifier={NOTIFIER},\n        on_failure_callback={NOTIFIER},",
        )
        assert text.count("send_purpose_alert(") == 2, f"{dag_file.name} changed: update this patch"
        dag_file.write_text(text)
        guarded += 1
    assert guarded == 9
    return folder


@pytest.fixture(scope="module")
def dags(tmp_path_factory) -> Path:
    return _patched_dags(tmp_path_factory.mktemp("scale-out") / "dags")


# -- normalised results ----------------------------------------------------------------


def _store_contents(url: str, run_ids: list[str]) -> dict:
    """Edges, tags, runs, verdicts and assertions of the store, with run ids and times taken out."""
    from purpose_lineage.store import open_store
    from purpose_lineage.store.base import edge_key, tag_key

    store = open_store(url)
    try:
        graph = store.graph()
    finally:
        store.close()

    def norm(rows: list) -> list:
        text = json.dumps(rows, default=str)
        for run_id in sorted(run_ids, key=len, reverse=True):
            text = text.replace(run_id, "<run>")
        return sorted(json.loads(text), key=lambda row: json.dumps(row, sort_keys=True))

    return {
        "datasets": norm([[d.table, list(d.columns), d.namespace] for d in graph.datasets]),
        "edges": norm([list(edge_key(e)) for e in graph.edges]),
        "tags": norm([list(tag_key(t)) for t in graph.tags]),
        "runs": norm(
            [
                [r.job_name, r.dag_id, r.task_id, r.state, sorted(r.inputs), sorted(r.outputs), r.run_id]
                for r in graph.runs
            ]
        ),
        "verdicts": norm(
            [
                [v.run_id, v.dag_id, v.task_id, v.sink, v.passed, list(v.violations), v.affected_count]
                for v in graph.verdicts
            ]
        ),
        "assertions": norm(
            [[a.table, a.assertion, a.success, a.column, a.severity, a.run_id] for a in graph.assertions]
        ),
    }


def _alerts(receiver: HttpReceiver) -> list[dict]:
    """Webhook alert documents without what differs per run (ids, times, links, summaries)."""
    keep = ("kind", "severity", "dagId", "taskId", "rules", "violations", "affectedCount", "sinks")
    return sorted(
        ({k: r.json().get(k) for k in (*keep, "sinkState", "reasons")} for r in receiver.requests),
        key=lambda a: (a["dagId"], a["taskId"]),
    )


def _rows(rows: list[dict]) -> dict[str, dict]:
    return {r["dag_id"]: {k: v for k, v in r.items() if k not in ("seconds", "run_id")} for r in rows}


# -- the two deployments ---------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, dags):
    """The reference: scripts/run_examples.py on the embedded default, same DAGs."""
    home = tmp_path_factory.mktemp("embedded-home")
    receiver = HttpReceiver()
    try:
        env = {**_clean_env(), "AIRFLOW_CONN_ALERT_WEBHOOK": http_conn(receiver.url)}
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "run_examples.py"), "--no-ui"]
            + ["--home", str(home), "--dags", str(dags), "--json", str(home / "verdicts.json")],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        assert out.returncode == 0, out.stderr[-4000:]
        rows = json.loads((home / "verdicts.json").read_text())
        return {
            "rows": rows,
            "store": _store_contents(
                f"duckdb:///{home / 'purpose_lineage.duckdb'}", [r["run_id"] for r in rows]
            ),
            "alerts": _alerts(receiver),
            "seconds": time.perf_counter() - started,
        }
    finally:
        receiver.close()


@pytest.fixture(scope="module")
def celery(tmp_path_factory, dags):
    """The same DAGs on the CeleryExecutor deployment, triggered wave by wave."""
    if not (reachable("127.0.0.1", 5432) and reachable("127.0.0.1", 6379)):
        message = "the scale-out test needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379"
        if os.environ.get("CI"):
            pytest.fail(message)  # never silently skipped where the suite is the gate
        pytest.skip(message)
    home = tmp_path_factory.mktemp("celery-home")
    meta_url, store_url = recreate_database(META_DB), recreate_database(STORE_DB)
    receiver = HttpReceiver()
    base = {
        **_clean_env(),
        **rx.example_env(home, dags=dags),
        "PURPOSE_LINEAGE_STORE_URL": store_url,
        "AIRFLOW_CONN_ALERT_WEBHOOK": http_conn(receiver.url),
    }
    queue = f"pl_scale_out_{uuid.uuid4().hex[:8]}"
    env = cluster_env(home, dags, meta_url=meta_url, base=base, queue=queue)
    cluster = CeleryCluster(home, env, meta_url)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        cluster.airflow("db", "migrate", timeout=300)
        cluster.airflow("pools", "set", WAREHOUSE_POOL, "1", "DuckDB warehouse: one writing process")
        timings["migrate"] = time.perf_counter() - started
        with running(cluster):
            timings["start"] = time.perf_counter() - started - timings["migrate"]
            cluster.wait_parsed([d for wave in WAVES for d in wave])
            run_ids, states = {}, {}
            for n, wave in enumerate(WAVES, 1):
                wave_started = time.perf_counter()
                runs = {dag_id: f"manual__scale_out_{uuid.uuid4().hex[:8]}" for dag_id in wave}
                cluster.trigger(runs)
                states.update(cluster.wait_runs(runs))
                run_ids.update(runs)
                timings[f"wave {n} ({len(wave)} runs)"] = time.perf_counter() - wave_started
            tasks = cluster.query(
                "SELECT dag_id, task_id, state, hostname, pool, start_date, end_date FROM task_instance"
            )
            dag_runs = cluster.query("SELECT dag_id, start_date, end_date FROM dag_run")
        timings["total"] = time.perf_counter() - started
        from purpose_lineage.store import open_store

        store = open_store(store_url)
        try:
            rows = [rx.verdict_row(store, d, run_ids[d], states[d]) for d, _ in rx.EXAMPLES]
        finally:
            store.close()
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            fingerprints = con.execute(
                "SELECT count(*), count(DISTINCT identity) FROM pl_security_fingerprints"
            ).fetchone()
        yield {
            "home": home,
            "fingerprints": fingerprints,
            "rows": rows,
            "store": _store_contents(store_url, list(run_ids.values())),
            "alerts": _alerts(receiver),
            "tasks": tasks,
            "dag_runs": dag_runs,
            "timings": timings,
        }
    finally:
        receiver.close()
        for name in (META_DB, STORE_DB):
            drop_database(name)


def _max_overlap(intervals: list[tuple]) -> int:
    points = sorted([(s, 1) for s, e in intervals if s and e] + [(e, -1) for s, e in intervals if s and e])
    best = now = 0
    for _, step in points:
        now += step
        best = max(best, now)
    return best


# -- the tests ---------------------------------------------------------------------------


def test_every_example_gives_its_expected_verdict_on_celery(celery):
    rows = {r["dag_id"]: r for r in celery["rows"]}
    assert len(rows) == 11
    assert {d: r["state"] for d, r in rows.items()} == {d: r["expected"] for d, r in rows.items()}
    path = rows["tailored_audiences_violating"]["path"]
    assert path.startswith("main.users_2fa.phone_number -INDIRECT/JOIN->")
    assert rows["manual_upload_audience"]["affected"] == 200


def test_verdicts_match_the_embedded_default(celery, embedded):
    assert _rows(celery["rows"]) == _rows(embedded["rows"])


def test_lineage_store_contents_match_the_embedded_default(celery, embedded):
    got, want = celery["store"], embedded["store"]
    assert len(want["edges"]) > 50 and len(want["tags"]) > 10 and len(want["verdicts"]) == 9
    for part in want:
        assert got[part] == want[part], part


def test_alerts_match_the_embedded_default_one_per_failed_guard(celery, embedded):
    failed_guards = sorted(r["dag_id"] for r in embedded["rows"] if r["expected"] == "failed")
    assert [a["dagId"] for a in embedded["alerts"]] == failed_guards  # one each, duplicates suppressed
    assert celery["alerts"] == embedded["alerts"]


def test_the_runs_were_spread_over_two_workers_and_ran_at_once(celery):
    tasks = celery["tasks"]
    assert {t[2] for t in tasks} == {"success", "failed"}
    by_worker: dict[str, int] = {}
    for _, _, _, hostname, *_ in tasks:
        by_worker[hostname] = by_worker.get(hostname, 0) + 1
    assert set(by_worker) == {"celery-worker-1", "celery-worker-2"}, by_worker
    runs_at_once = _max_overlap([(s, e) for _, s, e in celery["dag_runs"]])
    assert runs_at_once >= 4
    warehouse = [(s, e) for *_, pool, s, e in tasks if pool == WAREHOUSE_POOL]
    assert len(warehouse) > 10 and _max_overlap(warehouse) == 1  # the pool held: one writer at a time
    print(
        f"\nscale-out: {len(tasks)} tasks {by_worker}, {runs_at_once} DAG runs at once, "
        f"{_max_overlap([(t[5], t[6]) for t in tasks])} tasks at once; "
        + ", ".join(f"{k} {v:.0f}s" for k, v in celery["timings"].items())
        + "; store rows: "
        + ", ".join(f"{part} {len(rows)}" for part, rows in celery["store"].items())
        + "; fingerprints {} for {} identities".format(*celery["fingerprints"])
    )


def test_no_raw_identifier_in_worker_logs_events_or_alerts(celery):
    home = celery["home"]
    needles = warehouse_identifiers(home / "warehouse.duckdb")
    texts = {"openlineage events": (home / "openlineage_events.jsonl").read_text()}
    texts.update(read_tree(home / "logs"))
    texts.update(read_tree(home / "process-logs"))
    texts["alerts"] = json.dumps(celery["alerts"])
    assert len(texts["openlineage events"]) > 10_000 and len(texts) > 20
    assert scan(texts, needles) == []


def test_run_ids_are_not_left_in_normalised_contents(celery):
    assert not re.search(r"manual__scale_out_", json.dumps(celery["store"]))
