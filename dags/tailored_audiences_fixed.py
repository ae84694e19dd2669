"""Tailored audiences, FIXED: the advertiser's list is matched only against marketing-consented contacts.

Same audience, but the join key is ``marketing_contacts.phone``/``email`` (collected for
advertising, with consent), filtered on ``consented``. The guard passes and publishes
``ad_audience_acme``.
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

with DAG("tailored_audiences_fixed", **DAG_ARGS) as dag:
    match = DuckDBPurposeOperator(
        task_id="match_uploaded_list",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE ad_audience_acme__staging_f AS
        SELECT a.campaign_id, m.user_id, a.phone_sha256 AS match_key
        FROM advertiser_uploads a
        JOIN marketing_contacts m ON a.phone_sha256 = sha256(m.phone)
        WHERE a.advertiser = 'acme' AND m.consented
        UNION ALL
        SELECT a.campaign_id, m.user_id, a.email_md5
        FROM advertiser_uploads a
        JOIN marketing_contacts m ON a.email_md5 = md5(m.email)
        WHERE a.advertiser = 'acme' AND m.consented
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="ad_audience_acme__staging_f",
        target_table="ad_audience_acme",
        identifier_columns=["match_key"],
    )
    match >> guard
