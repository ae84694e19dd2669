"""Propagation: purposes follow every edge the policy counts, to every reachable column."""

from __future__ import annotations

from lineage_shapes import EMAIL, INCIDENT, PHONE, SECURITY, SECURITY_PHONE, edge, ref, tag

from purpose_lineage.core.model import Hop, Subtype, Tag, TagSource
from purpose_lineage.core.policy import Policy, Rule, Sink, load_policy
from purpose_lineage.core.propagate import Graph, propagate


def summary(tags: list[Tag]) -> list[tuple[str, str, str, str | None]]:
    return [(str(t.column), t.purpose, t.source.value, str(t.origin) if t.origin else None) for t in tags]


def test_incident_purpose_reaches_the_audience_through_hash_join_and_rename():
    out = propagate([SECURITY_PHONE], INCIDENT, load_policy())
    assert summary(out) == [
        ("users_2fa.phone_number", SECURITY, "declared", None),
        ("ad_audience_acme.user_id", SECURITY, "propagated", "users_2fa.phone_number"),
        ("matched", SECURITY, "propagated", "users_2fa.phone_number"),
        ("matched.matched_id", SECURITY, "propagated", "users_2fa.phone_number"),
        ("phone_hashes.phone_sha", SECURITY, "propagated", "users_2fa.phone_number"),
    ]
    audience = out[1]
    assert audience.category == PHONE
    assert audience.path == (
        Hop("users_2fa", "phone_number"),
        Hop("phone_hashes", "phone_sha", "DIRECT/TRANSFORMATION", masked=True),
        Hop("matched", "matched_id", "INDIRECT/JOIN"),
        Hop("ad_audience_acme", "user_id", "DIRECT/IDENTITY"),
    )


def test_untagged_columns_stay_untagged():
    out = propagate([SECURITY_PHONE], INCIDENT, load_policy())
    assert ref("phone_hashes.user_id") not in {t.column for t in out}
    assert ref("advertiser_uploads.phone_sha") not in {t.column for t in out}


def test_join_keys_only_carry_a_purpose_when_the_policy_counts_join_edges():
    direct_only = Policy(
        (Rule("copies", ("user",), (SECURITY,), ("marketing",), frozenset({"direct"})),),
        (Sink("ads", ("ad_audience_*",), "marketing.advertising"),),
    )
    out = propagate([SECURITY_PHONE], INCIDENT, direct_only)
    assert [str(t.column) for t in out] == ["users_2fa.phone_number", "phone_hashes.phone_sha"]


def test_without_a_policy_every_edge_counts():
    assert len(propagate([SECURITY_PHONE], INCIDENT)) == len(
        propagate([SECURITY_PHONE], INCIDENT, load_policy())
    )


def test_several_upstreams_give_one_tag_each_with_its_own_path():
    # CREATE TABLE contacts AS
    #   SELECT COALESCE(t.phone_number, u.email) AS handle FROM users_2fa t JOIN users u ...
    edges = [
        edge("users_2fa.phone_number", "contacts.handle", Subtype.TRANSFORMATION),
        edge("users.email", "contacts.handle", Subtype.TRANSFORMATION),
    ]
    marketing_email = tag("users.email", EMAIL, "marketing.communications.email")
    out = propagate([SECURITY_PHONE, marketing_email], edges)
    handle = [t for t in out if t.column == ref("contacts.handle")]
    assert [(t.category, t.purpose, str(t.origin), len(t.path)) for t in handle] == [
        (EMAIL, "marketing.communications.email", "users.email", 2),
        (PHONE, SECURITY, "users_2fa.phone_number", 2),
    ]


def test_cycles_terminate_and_tag_each_column_once():
    edges = [
        edge("a.x", "b.y", Subtype.IDENTITY),
        edge("b.y", "c.z", Subtype.TRANSFORMATION),
        edge("c.z", "a.x", Subtype.IDENTITY),  # written back by a later DAG
        edge("c.z", "c.z", Subtype.IDENTITY),
    ]
    out = propagate([tag("a.x", PHONE, SECURITY)], edges)
    assert summary(out) == [
        ("a.x", SECURITY, "declared", None),
        ("b.y", SECURITY, "propagated", "a.x"),
        ("c.z", SECURITY, "propagated", "a.x"),
    ]


def test_propagation_is_idempotent_and_ignores_stale_propagated_input():
    once = propagate([SECURITY_PHONE], INCIDENT)
    assert propagate(once, INCIDENT) == once
    assert [t.path for t in propagate(once, INCIDENT)] == [t.path for t in once]
    stale = Tag(ref("nowhere.col"), PHONE, SECURITY, TagSource.PROPAGATED, ref("x.y"))
    assert propagate([*once, stale], INCIDENT) == once


def test_names_are_normalised_so_quoted_and_upper_case_references_meet():
    edges = [edge('"Users_2FA".Phone_Number', "Hashes.Phone_Sha", Subtype.TRANSFORMATION, masked=True)]
    out = propagate([tag("users_2fa.phone_number", PHONE, SECURITY)], edges)
    assert [str(t.column) for t in out] == ["users_2fa.phone_number", "hashes.phone_sha"]


def test_duplicate_seeds_from_declaration_and_detection_collapse():
    detected = Tag(ref("users_2fa.phone_number"), PHONE, SECURITY, TagSource.DETECTED)
    out = propagate([SECURITY_PHONE, detected], INCIDENT)
    assert [t.source for t in out[:2]] == [TagSource.DECLARED, TagSource.PROPAGATED]


def test_dataset_wide_edges_reach_every_column_of_their_target_table():
    # rows of `filtered` are chosen by the phone, so every column of it carries the purpose
    edges = [
        edge("users_2fa.phone_number", "filtered", Subtype.FILTER),
        edge("users_2fa.country", "filtered.country", Subtype.IDENTITY),
        edge("filtered.country", "report.country", Subtype.IDENTITY),
        edge("other.country", "report.country", Subtype.IDENTITY),
    ]
    reach = Graph.build(edges).reach(ref("users_2fa.phone_number"))
    assert list(map(str, reach)) == [
        "users_2fa.phone_number",
        "filtered",
        "filtered.country",
        "report.country",
    ]
    assert reach[ref("report.country")] == (
        Hop("users_2fa", "phone_number"),
        Hop("filtered", "country", "INDIRECT/FILTER"),
        Hop("report", "country", "DIRECT/IDENTITY"),
    )
    # but a single tagged column of a table does not taint its siblings
    assert list(map(str, Graph.build(edges).reach(ref("other.country")))) == [
        "other.country",
        "report.country",
    ]


def test_aggregates_end_a_purpose_only_where_declared_safe():
    safe_count = Policy(
        (Rule("r", ("user",), (SECURITY,), ("marketing",), safe_aggregations=frozenset({"count"})),),
        (Sink("ads", ("ad_*",), "marketing.advertising"),),
    )
    counted = edge(
        "users_2fa.phone_number", "stats.n", Subtype.AGGREGATION, description="COUNT(DISTINCT phone_number)"
    )
    maxed = edge("users_2fa.phone_number", "stats.m", Subtype.AGGREGATION, description="MAX(phone_number)")
    out = propagate([SECURITY_PHONE], [counted, maxed], safe_count)
    assert [str(t.column) for t in out] == ["users_2fa.phone_number", "stats.m"]
    assert [str(t.column) for t in propagate([SECURITY_PHONE], [counted, maxed], load_policy())] == [
        "users_2fa.phone_number",
        "stats.m",
        "stats.n",
    ]
