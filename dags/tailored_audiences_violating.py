"""Tailored audiences, VIOLATING: an advertiser's hashed list is matched against two-factor phones.

The incident: ``users_2fa.phone_number`` was collected only to secure accounts, yet it is
the join key that turns the advertiser's list into an audience. No phone is copied, only
hashed and matched, so copy-only lineage misses it. The guard fails the run on the INDIRECT/JOIN
path and on the data itself (the audience's match keys are fingerprints of security-only
phones), and ``ad_audience_acme`` is left as it was.
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

with DAG("tailored_audiences_violating", **DAG_ARGS) as dag:
    match = DuckDBPurposeOperator(
        task_id="match_uploaded_list",
        conn_id=WAREHOUSE,
        sql="""
        CREATE OR REPLACE TABLE ad_audience_acme__staging_v AS
        SELECT a.campaign_id, t.user_id, a.phone_sha256 AS match_key
        FROM advertiser_uploads a
        JOIN users_2fa t ON a.phone_sha256 = sha256(t.phone_number)
        WHERE a.advertiser = 'acme'
        """,
    )
    guard = PurposeGuardOperator(
        task_id="guard_and_publish",
        conn_id=WAREHOUSE,
        staging_table="ad_audience_acme__staging_v",
        target_table="ad_audience_acme",
        identifier_columns=["match_key"],
    )
    match >> guard
