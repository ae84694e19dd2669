"""Find by phone, FIXED: only users who chose ``discoverable_by_phone`` are in the lookup table.

The consent filter constrains every row reaching the sink, so the policy's consent
exception applies, and every phone in the table is in the opted-in fingerprint set.
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

with DAG("find_by_phone_fixed", **DAG_ARGS) as dag:
    build = DuckDBPurposeOperator(
        task_id="build_lookup",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE phone_lookup__staging_f AS
        SELECT t.phone_number, t.user_id
        FROM users_2fa t JOIN users ON users.user_id = t.user_id
        WHERE users.discoverable_by_phone = true
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="phone_lookup__staging_f",
        target_table="phone_lookup",
        identifier_columns=["phone_number"],
    )
    build >> guard
