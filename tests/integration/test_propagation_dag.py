"""Issue 3 acceptance: a real DAG run (dag.test) with the OpenLineage provider's file transport.

users_2fa.phone_number (security) reaches ad_audience_acme through a hash, a join-only use
and a rename; a marketing-consented email takes a parallel path. Every event is validated.
"""

from __future__ import annotations

import json
import os

import pytest

from helpers.ol_schema import validate_event

SECURITY = "essential.service.security"
MARKETING = "marketing.advertising.third_party.targeted"


def _run_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id).test()


def _complete_events(path) -> dict[str, dict]:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {e["job"]["name"].split(".")[-1]: e for e in events if e["eventType"] == "COMPLETE"}, events


def _field_tags(dataset: dict) -> dict[str | None, set[tuple[str, str]]]:
    out: dict[str | None, set[tuple[str, str]]] = {}
    for tag in dataset["facets"].get("tags", {}).get("tags", []):
        out.setdefault(tag.get("field"), set()).add((tag["key"], tag["value"]))
    return out


def _indirect_inputs(dataset: dict, field: str) -> set[tuple[str, str, str]]:
    fields = dataset["facets"]["columnLineage"]["fields"][field]["inputFields"]
    return {
        (f["name"], f["field"], t["subtype"])
        for f in fields
        for t in f["transformations"]
        if t["type"] == "INDIRECT"
    }


@pytest.fixture(scope="module")
def propagation_run(airflow_db, tmp_path_factory):
    from helpers.airflow_env import ol_events_file

    OL_EVENTS = ol_events_file()

    OL_EVENTS.unlink(missing_ok=True)
    run = _run_dag("purpose_propagation")
    complete, events = _complete_events(OL_EVENTS)
    return run, complete, events


def test_dag_run_succeeds(propagation_run):
    run, _, _ = propagation_run
    assert run.state == "success"


def test_every_event_validates_against_the_openlineage_schemas(propagation_run):
    _, _, events = propagation_run
    assert len(events) >= 14  # START and COMPLETE of 7 tasks
    problems = [p for e in events for p in validate_event(e)]
    assert problems == []


def test_hash_hop_keeps_the_security_purpose(propagation_run):
    _, complete, _ = propagation_run
    [out] = complete["hash_phones"]["outputs"]
    assert out["name"] == "main.phone_hashes"
    tags = _field_tags(out)
    assert ("purpose", SECURITY) in tags["phone_hash"]
    assert ("data_category", "user.contact.phone_number") in tags["phone_hash"]
    [src] = out["facets"]["columnLineage"]["fields"]["phone_hash"]["inputFields"]
    assert (src["name"], src["field"]) == ("main.users_2fa", "phone_number")
    assert src["transformations"][0] == {"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}
    # the input dataset carries its declared tags
    [inp] = complete["hash_phones"]["inputs"]
    assert ("purpose", SECURITY) in _field_tags(inp)["phone_number"]


def test_join_only_hop_carries_the_purpose_on_indirect_edges(propagation_run):
    _, complete, _ = propagation_run
    [out] = complete["match_advertiser_list"]["outputs"]
    tags = _field_tags(out)
    for column in ("campaign_id", "user_id"):
        assert ("purpose", SECURITY) in tags[column], column
        assert ("main.phone_hashes", "phone_hash", "JOIN") in _indirect_inputs(out, column)
    dataset_wide = {(d["name"], d["field"]) for d in out["facets"]["columnLineage"]["dataset"]}
    assert ("main.phone_hashes", "phone_hash") in dataset_wide


def test_rename_hop_reaches_the_audience_and_fails_the_verdict(propagation_run):
    _, complete, _ = propagation_run
    event = complete["build_audience"]
    [out] = event["outputs"]
    assert ("purpose", SECURITY) in _field_tags(out)["audience_member"]
    [src] = out["facets"]["columnLineage"]["fields"]["audience_member"]["inputFields"]
    assert (src["field"], src["transformations"][0]["subtype"]) == ("user_id", "IDENTITY")
    verdict = event["run"]["facets"]["purposeVerdict"]
    assert verdict["verdict"] == "fail"
    [violation] = verdict["violations"]
    assert violation["source"] == "main.users_2fa" and violation["sourceColumn"] == "phone_number"
    assert violation["purpose"] == SECURITY
    tables = [hop["table"] for hop in violation["path"]]
    assert tables[0] == "main.users_2fa" and tables[-1] == "main.ad_audience_acme"
    assert {"main.phone_hashes", "main.matched_users"} <= set(tables)
    assert "INDIRECT/JOIN" in {hop.get("edge") for hop in violation["path"]}


def test_marketing_path_carries_only_marketing_purposes(propagation_run):
    _, complete, _ = propagation_run
    event = complete["build_email_audience"]
    [out] = event["outputs"]
    purposes = {v for tags in _field_tags(out).values() for k, v in tags if k == "purpose"}
    assert purposes == {MARKETING}
    assert event["run"]["facets"]["purposeVerdict"]["verdict"] == "pass"


def test_rerun_is_idempotent_in_the_store(propagation_run):
    from purpose_lineage.store import open_store

    store = open_store(os.environ["PURPOSE_LINEAGE_STORE_URL"])
    before = (len(store.edges()), len(store.tags_for(["main.ad_audience_acme", "main.matched_users"])))
    assert _run_dag("purpose_propagation").state == "success"
    after = (len(store.edges()), len(store.tags_for(["main.ad_audience_acme", "main.matched_users"])))
    # a second run records its own run id but no duplicate edge or tag
    assert after == before


def test_detection_tags_untagged_emails_and_emits_detected_tags(airflow_db):
    from helpers.airflow_env import ol_events_file

    OL_EVENTS = ol_events_file()
    from purpose_lineage.store import open_store

    OL_EVENTS.unlink(missing_ok=True)
    assert _run_dag("purpose_detection").state == "success"
    tags = open_store(os.environ["PURPOSE_LINEAGE_STORE_URL"]).tags_for(["main.crm_export"])
    assert [(t.column.column, t.category, t.purpose, t.source.value) for t in tags] == [
        ("contact", "user.contact.email", "unknown", "detected")
    ]
    complete, events = _complete_events(OL_EVENTS)
    assert [p for e in events for p in validate_event(e)] == []
    [dataset] = complete["detect"]["inputs"]
    assert _field_tags(dataset)["contact"] == {
        ("purpose", "unknown"),
        ("data_category", "user.contact.email"),
    }
    assert {t["source"] for t in dataset["facets"]["tags"]["tags"]} == {"detected"}
