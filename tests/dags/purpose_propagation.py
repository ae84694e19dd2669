"""Issue-3 fixture: a security phone reaches an audience through a hash, a join and a rename;
a marketing-consented email takes a parallel path."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from purpose_lineage.operators.detect import DetectIdentifiersOperator
from purpose_lineage.operators.sql import DuckDBPurposeOperator
from purpose_lineage.operators.tags import DeclarePurposeOperator

SEED = """
CREATE OR REPLACE TABLE users_2fa (user_id INTEGER, phone_number VARCHAR);
INSERT INTO users_2fa VALUES (1, '+14155550101'), (2, '+14155550102'), (3, '+14155550103');
CREATE OR REPLACE TABLE marketing_contacts (user_id INTEGER, email VARCHAR, consented BOOLEAN);
INSERT INTO marketing_contacts VALUES (1, 'ann@example.com', true), (2, 'bob@example.com', false);
CREATE OR REPLACE TABLE advertiser_list (campaign_id INTEGER, phone_sha256 VARCHAR, email_sha256 VARCHAR);
INSERT INTO advertiser_list VALUES (7, sha256('+14155550101'), sha256('ann@example.com'));
"""

with DAG("purpose_propagation", start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
    seed = DuckDBPurposeOperator(task_id="seed", conn_id="warehouse", sql=SEED)
    declare_phone = DeclarePurposeOperator(
        task_id="declare_phone",
        table="main.users_2fa",
        columns={"phone_number": ("user.contact.phone_number", "essential.service.security")},
    )
    declare_email = DeclarePurposeOperator(
        task_id="declare_email",
        table="main.marketing_contacts",
        columns={"email": ("user.contact.email", "marketing.advertising.third_party.targeted")},
    )
    hash_phones = DuckDBPurposeOperator(
        task_id="hash_phones",
        conn_id="warehouse",
        sql="CREATE OR REPLACE TABLE phone_hashes AS SELECT user_id, sha256(phone_number) AS phone_hash "
        "FROM users_2fa",
    )
    match = DuckDBPurposeOperator(
        task_id="match_advertiser_list",
        conn_id="warehouse",
        sql="CREATE OR REPLACE TABLE matched_users AS SELECT l.campaign_id, h.user_id "
        "FROM advertiser_list l JOIN phone_hashes h ON l.phone_sha256 = h.phone_hash",
    )
    publish = DuckDBPurposeOperator(
        task_id="build_audience",
        conn_id="warehouse",
        sql="CREATE OR REPLACE TABLE ad_audience_acme AS "
        "SELECT campaign_id, user_id AS audience_member FROM matched_users",
    )
    email_audience = DuckDBPurposeOperator(
        task_id="build_email_audience",
        conn_id="warehouse",
        sql="CREATE OR REPLACE TABLE ad_audience_acme_email AS SELECT l.campaign_id, c.user_id "
        "FROM advertiser_list l JOIN marketing_contacts c ON l.email_sha256 = sha256(c.email) "
        "WHERE c.consented",
    )
    seed >> [declare_phone, declare_email] >> hash_phones >> match >> publish
    declare_email >> email_audience

with DAG("purpose_detection", start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as detection_dag:
    DuckDBPurposeOperator(
        task_id="load_untagged",
        conn_id="warehouse",
        sql="CREATE OR REPLACE TABLE crm_export AS "
        "SELECT i AS id, 'client' || i || '@example.com' AS contact FROM range(300) t(i)",
    ) >> DetectIdentifiersOperator(task_id="detect", conn_id="warehouse", tables=["main.crm_export"])
