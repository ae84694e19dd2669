"""Real producers: openlineage-python's own HTTP transport against a real server, and Airflow tokens
on the Airflow API server that mounts the plugin."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
import uvicorn
from ol_samples import API_KEY, incident_event
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import HttpConfig, HttpTransport
from store_support import PG_URL, pg_reachable, reset_postgres

from purpose_lineage.api.app import create_app
from purpose_lineage.store import open_store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request, tmp_path: Path):
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'lineage.duckdb'}"
    else:
        if not pg_reachable():
            pytest.skip("PostgreSQL not reachable")
        reset_postgres()
        url = PG_URL
    store = open_store(url, spool_dir=tmp_path / "spool")
    app = create_app(store=store, api_key=API_KEY)
    app.state.airflow_auth = False
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/", store
    srv.should_exit = True
    thread.join(10)


def ol_client(base: str, key: str, compression: str | None = None) -> OpenLineageClient:
    config = {"type": "http", "url": base, "auth": {"type": "api_key", "apiKey": key}, "timeout": 10}
    if compression:
        config["compression"] = compression
    return OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))


def test_the_openlineage_http_transport_is_accepted_and_queryable(server):
    base, store = server
    ol_client(base, API_KEY, "gzip").emit(incident_event())
    ol_client(base, API_KEY).emit(incident_event(event_type="START"))
    assert len(store.edges()) == 4
    assert len(store.runs_for("ads.audience")) == 1
    r = requests.get(
        base + "api/v1/paths",
        params={"sink": "ads.audience", "purpose": "essential.service.security"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert r.status_code == 200
    (path,) = r.json()["paths"]
    assert path["source"] == {"table": "auth.users_2fa", "column": "phone"}
    assert path["edge_kinds"] == ["INDIRECT/JOIN"]


def test_a_wrong_key_is_refused_and_stores_nothing(server):
    base, store = server
    with pytest.raises(requests.HTTPError) as err:
        ol_client(base, "not-the-key").transport.emit(incident_event())
    assert err.value.response.status_code == 401
    r = requests.post(base + "api/v1/lineage", data=b"{}", headers={"X-API-Key": API_KEY}, timeout=10)
    assert r.status_code == 400 and "eventTime" in r.json()["detail"]
    assert store.edges() == []


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """Airflow's metadata DB (the test AIRFLOW_HOME's SQLite): token checks read revoked tokens from it."""
    import os
    import subprocess
    import sys

    airflow = str(Path(sys.executable).with_name("airflow"))
    out = subprocess.run(
        [airflow, "db", "migrate"], capture_output=True, text=True, env=os.environ, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.mark.slow
def test_airflow_tokens_on_the_airflow_api_server(tmp_path: Path, monkeypatch, airflow_db):
    """The plugin is mounted by Airflow's own API server; an Airflow token (header or UI cookie) works."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"admin": "s3cret-pw"}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER",
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    )
    monkeypatch.delenv("PURPOSE_LINEAGE_API_KEY", raising=False)
    from airflow.api_fastapi.app import create_app as airflow_app
    from fastapi.testclient import TestClient

    client = TestClient(airflow_app())
    token = client.post("/auth/token", json={"username": "admin", "password": "s3cret-pw"}).json()[
        "access_token"
    ]
    url = "/purpose-lineage/api/v1/lineage"
    from ol_samples import as_dict

    doc = as_dict(incident_event())
    assert client.post(url, json=doc).status_code == 401
    assert client.post(url, json=doc, headers={"Authorization": "Bearer not.a.jwt"}).status_code == 403
    assert client.post(url, json=doc, headers={"X-API-Key": "guess"}).status_code == 403  # no key configured
    r = client.post(url, json=doc, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    client.cookies.set("_token", token)  # the Airflow UI's cookie: the iframe'd page and its fetches
    r = client.get("/purpose-lineage/api/v1/history", params={"table": "ads.audience"})
    assert r.status_code == 200, r.text
    assert [run["task_id"] for run in r.json()["runs"]] == ["match_audience"]
