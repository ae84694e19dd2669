"""Manual upload: an audience file loaded outside any lineage, holding md5 hashes of recovery emails.

The load uses Airflow's plain common-sql operator, as a one-off copy would: no lineage is
recorded. The guard is told the table has no lineage to require, so it judges on the data
alone: the md5 match keys are fingerprints of security-only identifiers, and the run fails.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

from purpose_lineage.operators.guard import PurposeGuardOperator

WAREHOUSE = "warehouse"  # a DuckDB connection, e.g. {"conn_type": "duckdb", "host": "/data/warehouse.duckdb"}
DAG_ARGS = {
    "start_date": datetime(2026, 1, 1),
    "schedule": None,
    "catchup": False,
    "template_searchpath": [str(Path(__file__).parent / "sql")],
    "tags": ["purpose-lineage-example"],
}

with DAG("manual_upload_audience", **DAG_ARGS) as dag:
    upload = SQLExecuteQueryOperator(
        task_id="load_uploaded_file",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE ad_audience_upload__staging AS
        SELECT md5(recovery_email) AS match_key FROM users_2fa WHERE recovery_email IS NOT NULL
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="ad_audience_upload__staging",
        target_table="ad_audience_upload",
        identifier_columns=["match_key"],
        lineage_required=False,
    )
    upload >> guard
