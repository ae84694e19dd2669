"""Multi-DAG flow, upstream: a user profile table that mixes purposes.

``user_profiles`` carries the two-factor phone (security), the marketing email and the
consent flag side by side. It is not a sink, so nothing fails here; the purposes are
recorded per column and travel to whatever DAG reads the table next.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG

from purpose_lineage.operators.sql import DuckDBPurposeOperator

WAREHOUSE = "warehouse"  # a DuckDB connection, e.g. {"conn_type": "duckdb", "host": "/data/warehouse.duckdb"}
DAG_ARGS = {
    "start_date": datetime(2026, 1, 1),
    "schedule": None,
    "catchup": False,
    "template_searchpath": [str(Path(__file__).parent / "sql")],
    "tags": ["purpose-lineage-example"],
}

with DAG("profile_staging", **DAG_ARGS) as dag:
    DuckDBPurposeOperator(
        task_id="build_user_profiles",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE user_profiles AS
        SELECT u.user_id, t.phone_number, m.email, coalesce(m.consented, false) AS consented
        FROM users u
        LEFT JOIN users_2fa t ON t.user_id = u.user_id
        LEFT JOIN marketing_contacts m ON m.user_id = u.user_id
        """,
    )
