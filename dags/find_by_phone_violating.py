"""Find by phone, VIOLATING: a lookup table maps every two-factor phone to its account.

Users who never chose to be findable by phone become findable. The guard fails on the
consent rule (no ``discoverable_by_phone`` filter constrains the rows) and on the data
(phones in the table that are not in the opted-in fingerprint set); ``phone_lookup`` stays as it was.
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

with DAG("find_by_phone_violating", **DAG_ARGS) as dag:
    build = DuckDBPurposeOperator(
        task_id="build_lookup",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE phone_lookup__staging_v AS
        SELECT t.phone_number, t.user_id FROM users_2fa t
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="phone_lookup__staging_v",
        target_table="phone_lookup",
        identifier_columns=["phone_number"],
    )
    build >> guard
