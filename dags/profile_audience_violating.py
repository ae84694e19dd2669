"""Multi-DAG flow, downstream VIOLATING: an audience built from the mixed profile table's phone.

This DAG never touches ``users_2fa``; it reads ``user_profiles`` built by ``profile_staging``.
Propagation across DAGs carries the security purpose of ``users_2fa.phone_number`` into
``user_profiles.phone_number`` and on into the hashed match key, and the guard fails.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG

from purpose_lineage.operators.guard import PurposeGuardOperator
from purpose_lineage.operators.sql import DuckDBPurposeOperator

WAREHOUSE = "warehouse"  # a DuckDB connection, e.g. {"conn_type": "duckdb", "host": "/data/warehouse.duckdb"}
DAG_ARGS = {
    "start_date": datetime(2026, 1, 1),
    "schedule": None,
    "catchup": False,
    "template_searchpath": [str(Path(__file__).parent / "sql")],
    "tags": ["purpose-lineage-example"],
}

with DAG("profile_audience_violating", **DAG_ARGS) as dag:
    build = DuckDBPurposeOperator(
        task_id="build_profile_audience",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE ad_audience_profiles__staging_v AS
        SELECT user_id, sha256(phone_number) AS match_key
        FROM user_profiles WHERE phone_number IS NOT NULL
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="ad_audience_profiles__staging_v",
        target_table="ad_audience_profiles",
        identifier_columns=["match_key"],
    )
    build >> guard
