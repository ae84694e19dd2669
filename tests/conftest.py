"""Shared test setup.

Airflow reads AIRFLOW_HOME when it is first imported, so the environment is set
here, at collection time, before any test module imports airflow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))  # this checkout's code, even beside another editable install
sys.path.insert(0, str(ROOT / "tests" / "support"))  # shared test helpers (store_support, ol_samples)

_HOME = Path(os.environ.get("PURPOSE_LINEAGE_TEST_HOME") or tempfile.mkdtemp(prefix="pl-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# the native fingerprint extension is compiled once per test session, not into the user's cache
os.environ.setdefault("PURPOSE_LINEAGE_NATIVE_CACHE", str(_HOME / "native"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "tests" / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(_HOME / "plugins"))
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_HOME / 'airflow.db'}")
os.environ.setdefault("PURPOSE_LINEAGE_STORE_URL", f"duckdb:///{_HOME / 'purpose_lineage.duckdb'}")
OL_EVENTS = _HOME / "openlineage_events.jsonl"
os.environ.setdefault(
    "AIRFLOW__OPENLINEAGE__TRANSPORT",
    json.dumps({"type": "file", "log_file_path": str(OL_EVENTS), "append": True}),
)
os.environ.setdefault("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
os.environ.setdefault(
    "AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "duckdb", "host": str(_HOME / "warehouse.duckdb")})
)

import pytest  # noqa: E402

# fixtures of the store and API tests, shared without a conftest.py per folder
pytest_plugins = ["store_fixtures", "api_fixtures"]


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """A migrated SQLite metadata DB for real DAG runs (``dag.test()``)."""
    db = airflow_home / "airflow.db"
    if not db.exists():
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return db


@pytest.fixture
def ol_events() -> Path:
    """The OpenLineage file transport's output; emptied before each test."""
    OL_EVENTS.unlink(missing_ok=True)
    return OL_EVENTS
