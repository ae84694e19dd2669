"""Shared test setup.

Airflow reads AIRFLOW_HOME when it is first imported, so the environment is set
here, at collection time, before any test module imports airflow.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))  # this checkout's code, even beside another editable install
sys.path.insert(0, str(ROOT / "tests" / "support"))  # shared test helpers (store_support, ol_samples)

_HOME = Path(os.environ.get("PURPOSE_LINEAGE_TEST_HOME") or tempfile.mkdtemp(prefix="pl-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(_HOME / "plugins"))
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_HOME / 'airflow.db'}")
os.environ.setdefault("PURPOSE_LINEAGE_STORE_URL", f"duckdb:///{_HOME / 'purpose_lineage.duckdb'}")

import pytest  # noqa: E402

# fixtures of the store and API tests, shared without a conftest.py per folder
pytest_plugins = ["store_fixtures", "api_fixtures"]


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
