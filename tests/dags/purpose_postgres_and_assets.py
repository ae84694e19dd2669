"""Issue-3 fixture: the common-sql operator on PostgreSQL, and tags declared through an Asset's extra."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Asset

from purpose_lineage.operators.sql import PurposeSQLOperator
from purpose_lineage.operators.tags import DeclarePurposeOperator

PHONE = {"category": "user.contact.phone_number", "purpose": "essential.service.security"}

with DAG("purpose_postgres_and_assets", start_date=datetime(2026, 1, 1), schedule=None, catchup=False):
    seed = PurposeSQLOperator(
        task_id="seed",
        conn_id="warehouse_pg",
        sql="""
        DROP TABLE IF EXISTS public.pg_audience;
        DROP TABLE IF EXISTS public.pg_users;
        DROP TABLE IF EXISTS public.pg_uploads;
        CREATE TABLE public.pg_users (user_id INT, phone TEXT);
        INSERT INTO public.pg_users VALUES (1, '+14155550101'), (2, '+14155550102');
        CREATE TABLE public.pg_uploads (campaign_id INT, phone_md5 TEXT);
        INSERT INTO public.pg_uploads VALUES (7, md5('+14155550101'));
        """,
    )
    declare_pg = DeclarePurposeOperator(
        task_id="declare_pg", table="public.pg_users", columns={"phone": PHONE}
    )
    declare_asset = DeclarePurposeOperator(
        task_id="declare_from_asset",
        outlets=[
            Asset(
                "duckdb://warehouse/main/asset_users",
                extra={"purpose_lineage": {"columns": {"phone": PHONE}}},
            )
        ],
    )
    match = PurposeSQLOperator(
        task_id="match_on_postgres",
        conn_id="warehouse_pg",
        sql="CREATE TABLE public.pg_audience AS SELECT a.campaign_id, u.user_id "
        "FROM public.pg_uploads a JOIN public.pg_users u ON a.phone_md5 = md5(u.phone)",
    )
    seed >> [declare_pg, declare_asset] >> match
