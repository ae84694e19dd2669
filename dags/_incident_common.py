"""Shared settings of the example pipelines (not a DAG: the file name starts with an underscore)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

WAREHOUSE = "warehouse"  # a DuckDB connection: AIRFLOW_CONN_WAREHOUSE='{"conn_type": "duckdb", "host": ...}'
SQL_DIR = str(Path(__file__).parent / "sql")
DAG_ARGS = {
    "start_date": datetime(2026, 1, 1),
    "schedule": None,
    "catchup": False,
    "template_searchpath": [SQL_DIR],
    "tags": ["purpose-lineage-example"],
}
