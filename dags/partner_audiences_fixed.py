"""Partner audiences, FIXED: third-party data is joined only through marketing-consented phones.

The join key is ``marketing_contacts.phone`` of users who consented; the guard passes and
publishes ``ad_audience_partner``.
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

with DAG("partner_audiences_fixed", **DAG_ARGS) as dag:
    enrich = DuckDBPurposeOperator(
        task_id="join_partner_data",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE ad_audience_partner__staging_f AS
        SELECT m.user_id, p.interest AS segment
        FROM partner_data p
        JOIN marketing_contacts m ON regexp_replace(p.phone, '[^0-9]', '', 'g') = right(m.phone, 10)
        WHERE m.consented
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="ad_audience_partner__staging_f",
        target_table="ad_audience_partner",
    )
    enrich >> guard
