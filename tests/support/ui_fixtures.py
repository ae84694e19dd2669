"""Fixtures of the lineage page tests: a real Airflow API server, headless Chromium, the incident.

Test modules import the fixtures they use (no conftest.py beside them: other test modules
import helpers ``from conftest``, which a second conftest module would shadow).

The server runs in its own fresh AIRFLOW_HOME with SimpleAuthManager, over a DuckDB store
filled with the incident through the store API. Chromium is Debian's (/usr/bin/chromium),
driven by Playwright; no browser is downloaded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import ui_incident

from purpose_lineage.store import open_store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
USER, PASSWORD = "admin", "incident-review-pw"
SERVER_START_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AirflowServer:
    base: str
    home: Path
    store_url: str
    user: str
    password: str

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def token(self) -> str:
        r = requests.post(
            self.url("auth/token"), json={"username": self.user, "password": self.password}, timeout=30
        )
        r.raise_for_status()
        return r.json()["access_token"]


def airflow_env(home: Path, store_url: str, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PURPOSE_LINEAGE"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(home / "plugins"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API_AUTH__JWT_SECRET="ui-tests-jwt-secret-not-for-production-" + "x" * 40,
        AIRFLOW__API__SECRET_KEY="ui-tests-secret-key",
        PURPOSE_LINEAGE_STORE_URL=store_url,
    )
    if port is not None:
        env["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{port}"
    return env


# module scope: the server and the browser are gone before other modules run (a test that forks,
# e.g. OpenLineage's per-event process, must not inherit Playwright's threads)
@pytest.fixture(scope="module")
def airflow_server(tmp_path_factory) -> Iterator[AirflowServer]:
    """``airflow api-server`` on a free port, logged-in user ``admin``, the incident in its store."""
    home = tmp_path_factory.mktemp("ui-airflow-home")
    for sub in ("dags", "plugins"):
        (home / sub).mkdir()
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    store_url = f"duckdb:///{home / 'lineage.duckdb'}"
    with open_store(store_url, spool_dir=home / "spool") as store:
        ui_incident.fill(store)
        assert store.pending() == 0
    port = free_port()
    env = airflow_env(home, store_url, port)
    migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    log = (home / "api-server.log").open("w")
    proc = subprocess.Popen(
        [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(base, proc, home / "api-server.log")
        yield AirflowServer(base, home, store_url, USER, PASSWORD)
    finally:
        _stop(proc)
        log.close()


def _wait_until_up(base: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"airflow api-server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(base + "api/v2/monitor/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"airflow api-server not up after {SERVER_START_TIMEOUT} s:\n{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/env.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        yield b
        b.close()


@pytest.fixture
def page(browser, airflow_server):
    """A fresh browser context (no cookies) with a 1500x900 page; console errors are collected."""
    context = browser.new_context(viewport={"width": 1500, "height": 900}, base_url=airflow_server.base)
    context.set_default_timeout(60_000)
    p = context.new_page()
    p.errors = []  # type: ignore[attr-defined]
    p.on("pageerror", lambda exc: p.errors.append(str(exc)))
    p.on("dialog", lambda d: (p.errors.append(f"dialog: {d.message}"), d.dismiss()))
    yield p
    context.close()


__all__ = ["AirflowServer", "airflow_server", "browser", "page"]
