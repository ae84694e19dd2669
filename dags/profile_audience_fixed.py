"""Multi-DAG flow, downstream FIXED: the audience takes only consented marketing emails from the profiles.

Only ``user_profiles.email`` (marketing purpose) flows, filtered on ``consented``; the
guard passes and publishes ``ad_audience_profiles``.
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

with DAG("profile_audience_fixed", **DAG_ARGS) as dag:
    build = DuckDBPurposeOperator(
        task_id="build_profile_audience",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE ad_audience_profiles__staging_f AS
        SELECT user_id, md5(email) AS match_key
        FROM user_profiles WHERE consented AND email IS NOT NULL
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="ad_audience_profiles__staging_f",
        target_table="ad_audience_profiles",
        identifier_columns=["match_key"],
    )
    build >> guard
