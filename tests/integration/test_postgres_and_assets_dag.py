"""Issue 3: the common-sql transform operator on real PostgreSQL, and tags from Asset extras."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from helpers.ol_schema import validate_event

PG_DB = "pl_ops_test"
SECURITY = "essential.service.security"


@pytest.fixture(scope="module")
def pg_run(airflow_db):
    from helpers.airflow_env import ol_events_file

    OL_EVENTS = ol_events_file()

    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f"CREATE DATABASE {PG_DB}"], capture_output=True
    )
    os.environ["AIRFLOW_CONN_WAREHOUSE_PG"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    OL_EVENTS.unlink(missing_ok=True)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    run = bag.get_dag("purpose_postgres_and_assets").test()
    events = [json.loads(line) for line in OL_EVENTS.read_text().splitlines() if line.strip()]
    return run, events


def test_run_succeeds_on_postgres(pg_run):
    run, _ = pg_run
    assert run.state == "success"


def test_join_key_on_postgres_propagates_the_security_purpose(pg_run):
    from purpose_lineage.store import open_store

    store = open_store(os.environ["PURPOSE_LINEAGE_STORE_URL"])
    tags = store.tags_for(["public.pg_audience"])
    assert {(t.column.column, t.purpose) for t in tags if t.column.column} >= {
        ("campaign_id", SECURITY),
        ("user_id", SECURITY),
    }
    edges = store.edges_into(["public.pg_audience"])
    joins = {(str(e.source), e.subtype.value, e.masking) for e in edges if e.target.column == "user_id"}
    assert ("public.pg_users.phone", "JOIN", True) in joins


def test_postgres_events_validate_and_carry_indirect_edges(pg_run):
    _, events = pg_run
    assert [p for e in events for p in validate_event(e)] == []
    [complete] = [
        e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith("match_on_postgres")
    ]
    [out] = complete["outputs"]
    assert complete["inputs"][0]["namespace"].startswith("postgres://127.0.0.1:5432")
    fields = out["facets"]["columnLineage"]["fields"]["user_id"]["inputFields"]
    assert any(f["field"] == "phone" and f["transformations"][0]["type"] == "INDIRECT" for f in fields)


def test_asset_extra_declares_tags_and_converts_to_an_openlineage_dataset(pg_run):
    from airflow.sdk import Asset

    from purpose_lineage.assets import convert_asset_to_openlineage
    from purpose_lineage.store import open_store

    store = open_store(os.environ["PURPOSE_LINEAGE_STORE_URL"])
    [tag] = store.tags_for(["main.asset_users"])
    assert (tag.column.column, tag.category, tag.purpose, tag.source.value) == (
        "phone",
        "user.contact.phone_number",
        SECURITY,
        "declared",
    )
    dataset = convert_asset_to_openlineage(Asset("duckdb://warehouse/main/asset_users"), None)
    assert (dataset.namespace, dataset.name) == ("duckdb://warehouse", "main.asset_users")
    _, events = pg_run
    [complete] = [
        e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith("declare_from_asset")
    ]
    assert complete["outputs"][0]["name"] == "main.asset_users"
    assert {"key": "purpose", "value": SECURITY, "source": "declared", "field": "phone"} in [
        {k: t.get(k) for k in ("key", "value", "source", "field")}
        for t in complete["outputs"][0]["facets"]["tags"]["tags"]
    ]
