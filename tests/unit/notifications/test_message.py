"""Building an Alert from violation metadata: paths, dedup keys, kinds and links."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from purpose_lineage.core.model import Violation
from purpose_lineage.notifications.message import AlertKind, ViolationInfo, build_alert
from tests.helpers.alert_data import incident_violations, leaks, leaky_error_text

JOIN, HASHED = incident_violations()


def test_path_text_names_source_purpose_edges_and_sink():
    assert ViolationInfo.coerce(JOIN).path_text() == (
        "users_2fa.phone_number [essential.service.security] -> INDIRECT/JOIN -> acme_upload_matches (rows)"
        " -> DIRECT/IDENTITY -> ad_audience_acme.user_id"
    )
    assert ViolationInfo.coerce(HASHED).path_text() == (
        "users_2fa.phone_number [essential.service.security] -> DIRECT/TRANSFORMATION (masked)"
        " -> stage_acme.phone_sha256 -> DIRECT/IDENTITY -> ad_audience_acme.phone_hash"
    )


def test_violation_objects_asdict_and_camel_case_dicts_agree():
    as_dict = dataclasses.asdict(JOIN)
    camel = {
        **as_dict,
        "sinkColumn": as_dict.pop("sink_column"),
        "sourceColumn": as_dict.pop("source_column"),
    }
    infos = {
        ViolationInfo.coerce(JOIN),
        ViolationInfo.coerce(dataclasses.asdict(JOIN)),
        ViolationInfo.coerce(camel),
    }
    assert len(infos) == 1


def test_masking_flag_in_a_hop_dict_is_kept():
    data = dataclasses.asdict(JOIN)
    data["path"][1]["masking"] = True
    assert "INDIRECT/JOIN (masked)" in ViolationInfo.coerce(data).path_text()


def test_path_without_source_or_sink_is_completed():
    bare = Violation("r", "ads", "uid", "users_2fa", "phone_number", "essential.service.security", "c", ())
    assert ViolationInfo.coerce(bare).path_text() == (
        "users_2fa.phone_number [essential.service.security] -> ? -> ads.uid"
    )


def test_violation_alert_fields():
    when = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    alert = build_alert(
        dag_id="acme_audience",
        run_id="manual__2026-05-01T10:00:00+00:00",
        task_id="guard",
        failed_at=when,
        violations=[JOIN, HASHED, JOIN],
        affected_count=3,
        ui_base_url="https://airflow.example/",
        data_docs_url="https://docs.example/gx/index.html",
        try_number=2,
    )
    assert alert.kind is AlertKind.VIOLATION and alert.severity == "critical"
    assert len(alert.violations) == 2  # the repeated JOIN path collapses
    assert alert.rules == ("security_purpose_never_in_advertising",)
    assert alert.sinks == ("ad_audience_acme",)
    assert alert.sink_state == "unchanged"
    assert alert.failed_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert alert.lineage_url == (
        "https://airflow.example/purpose-lineage/ui/?dag_id=acme_audience"
        "&run_id=manual__2026-05-01T10%3A00%3A00%2B00%3A00"
    )
    assert alert.describe_sink_state() == "ad_audience_acme: unchanged (the audited data was not published)"


def test_task_failure_alert_is_labelled_and_has_no_path():
    alert = build_alert(dag_id="d", run_id="r", task_id="load", error=RuntimeError(leaky_error_text()))
    assert alert.kind is AlertKind.TASK_FAILURE and alert.severity == "error"
    assert alert.violations == () and alert.sink_state == "not assessed"
    assert "no purpose violation recorded" in alert.title
    assert alert.error_type == "RuntimeError"
    assert leaks(alert.error) == [] and alert.error.startswith("2 unexpected values")


def test_dedup_key_ignores_try_time_and_order_but_not_run_or_path():
    a = build_alert(dag_id="d", run_id="r", task_id="guard", violations=[JOIN, HASHED], try_number=1)
    b = build_alert(
        dag_id="d",
        run_id="r",
        task_id="guard2",
        violations=[HASHED, JOIN],
        try_number=2,
        failed_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert a.dedup_key == b.dedup_key
    assert build_alert(dag_id="d", run_id="r2", violations=[JOIN, HASHED]).dedup_key != a.dedup_key
    assert build_alert(dag_id="d", run_id="r", violations=[JOIN]).dedup_key != a.dedup_key
    f1 = build_alert(dag_id="d", run_id="r", task_id="t", error=ValueError("x"))
    f2 = build_alert(dag_id="d", run_id="r", task_id="t", error=ValueError("x"), try_number=3)
    assert (
        f1.dedup_key == f2.dedup_key != build_alert(dag_id="d", run_id="r", task_id="u", error="x").dedup_key
    )


def test_guard_blocked_key_ignores_the_error_and_try_but_not_the_reasons():
    base = {
        "dag_id": "d",
        "run_id": "r",
        "task_id": "guard",
        "sinks": ["ads"],
        "guard_failed": True,
        "reasons": ["data checks failed"],
    }
    own = build_alert(**base)  # the guard sending by itself, before raising
    callback = build_alert(**base, error=ValueError("blocked"), try_number=1)
    assert own.kind is callback.kind is AlertKind.GUARD_BLOCKED
    assert own.dedup_key == callback.dedup_key and own.ledger_sink == "ads"
    assert build_alert(**{**base, "reasons": ["no recorded lineage for x"]}).dedup_key != own.dedup_key


def test_the_same_path_from_a_source_without_masking_merges_into_one():
    with_mask = dataclasses.asdict(HASHED)  # the store's verdict keeps the masked flag
    without = dataclasses.asdict(HASHED)  # the OpenLineage facet's dict does not
    without["path"] = [
        {
            "table": h["table"],
            "column": h["column"],
            "edge": "DIRECT/TRANSFORMATION" if h["edge"] and "TRANSFORMATION" in h["edge"] else h["edge"],
        }
        for h in without["path"]
    ]
    for order in ([without, with_mask], [with_mask, without]):
        alert = build_alert(dag_id="d", run_id="r", violations=order)
        (info,) = alert.violations
        assert "DIRECT/TRANSFORMATION (masked)" in info.path_text()
    assert build_alert(dag_id="d", run_id="r", violations=[without]).dedup_key == alert.dedup_key
