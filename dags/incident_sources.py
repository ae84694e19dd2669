"""Incident sources: the tables every example reads, their declared purposes, and the fingerprint sets.

Run it first. It loads synthetic users, the two-factor phones and recovery emails
(collected only for security), marketing contacts (some consented), an advertiser's hashed
upload and a partner's phone-keyed data (both received from outside, so loaded without
lineage); declares what each column is and why it was
collected; and builds keyed fingerprints of the security-only identifiers and of the
identifiers users allowed to be found by.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

from purpose_lineage.operators.fingerprints import FingerprintRefreshOperator
from purpose_lineage.operators.sql import DuckDBPurposeOperator
from purpose_lineage.operators.tags import DeclarePurposeOperator

WAREHOUSE = "warehouse"  # a DuckDB connection, e.g. {"conn_type": "duckdb", "host": "/data/warehouse.duckdb"}
DAG_ARGS = {
    "start_date": datetime(2026, 1, 1),
    "schedule": None,
    "catchup": False,
    "template_searchpath": [str(Path(__file__).parent / "sql")],
    "tags": ["purpose-lineage-example"],
}

PHONE, EMAIL = "user.contact.phone_number", "user.contact.email"
SECURITY, AUTHENTICATION = "essential.service.security", "essential.service.authentication"
MARKETING = "marketing.advertising.third_party.targeted"

with DAG("incident_sources", **DAG_ARGS) as dag:
    load = DuckDBPurposeOperator(task_id="load_sources", conn_id=WAREHOUSE, sql="seed_incidents.sql")
    receive_uploads = SQLExecuteQueryOperator(
        task_id="receive_external_uploads", conn_id=WAREHOUSE, sql="seed_external_uploads.sql"
    )
    declare = [
        DeclarePurposeOperator(
            task_id="declare_two_factor",
            table="main.users_2fa",
            columns={"phone_number": (PHONE, SECURITY), "recovery_email": (EMAIL, AUTHENTICATION)},
        ),
        DeclarePurposeOperator(
            task_id="declare_marketing_contacts",
            table="main.marketing_contacts",
            columns={"email": (EMAIL, MARKETING), "phone": (PHONE, MARKETING)},
        ),
        DeclarePurposeOperator(
            task_id="declare_login_email",
            table="main.users",
            columns={"login_email": (EMAIL, AUTHENTICATION)},
        ),
    ]
    security_set = FingerprintRefreshOperator(
        task_id="fingerprint_security_only_identifiers",
        conn_id=WAREHOUSE,
        sources=[
            {"query": "main.users_2fa", "column": "phone_number", "kind": "phone", "user_column": "user_id"},
            {
                "query": "main.users_2fa",
                "column": "recovery_email",
                "kind": "email",
                "user_column": "user_id",
            },
        ],
        exclude=[
            {
                "query": "SELECT user_id, phone FROM main.marketing_contacts WHERE consented",
                "column": "phone",
                "kind": "phone",
                "user_column": "user_id",
            },
        ],
        table="pl_security_fingerprints",
    )
    consent_set = FingerprintRefreshOperator(
        task_id="fingerprint_discoverable_phones",
        conn_id=WAREHOUSE,
        sources=[
            {
                "query": "SELECT t.user_id, t.phone_number FROM main.users_2fa t "
                "JOIN main.users u USING (user_id) WHERE u.discoverable_by_phone",
                "column": "phone_number",
                "kind": "phone",
                "user_column": "user_id",
            }
        ],
        table="pl_consented_fingerprints",
    )
    load >> receive_uploads >> declare >> security_set >> consent_set
