"""Partner audiences, VIOLATING: third-party data is joined to users through their two-factor phone.

The partner's phones are in national format; the join normalises both sides and matches on
the last ten digits of ``users_2fa.phone_number``. The enriched audience holds no phone at
all, yet it exists only because of security data: the guard fails on the INDIRECT/JOIN edge.
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

with DAG("partner_audiences_violating", **DAG_ARGS) as dag:
    enrich = DuckDBPurposeOperator(
        task_id="join_partner_data",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE ad_audience_partner__staging_v AS
        SELECT t.user_id, p.interest AS segment
        FROM partner_data p
        JOIN users_2fa t ON regexp_replace(p.phone, '[^0-9]', '', 'g') = right(t.phone_number, 10)
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="ad_audience_partner__staging_v",
        target_table="ad_audience_partner",
    )
    enrich >> guard
