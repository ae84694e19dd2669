"""API clients over a fresh DuckDB store (a pytest plugin, see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ol_samples import API_KEY

from purpose_lineage.api.app import create_app
from purpose_lineage.store import open_store


@pytest.fixture
def api_store(tmp_path: Path):
    s = open_store(f"duckdb:///{tmp_path / 'lineage.duckdb'}", spool_dir=tmp_path / "spool")
    yield s
    s.close()


@pytest.fixture
def client(api_store) -> TestClient:
    app = create_app(store=api_store, api_key=API_KEY)
    app.state.airflow_auth = False  # unit tests: API key only (Airflow tokens: tests/integration)
    return TestClient(app, headers={"X-API-Key": API_KEY})


@pytest.fixture
def anonymous(api_store) -> TestClient:
    app = create_app(store=api_store, api_key=API_KEY)
    app.state.airflow_auth = False
    return TestClient(app)
