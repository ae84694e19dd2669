"""Evaluation under the default policy: which flows are violations, with which paths."""

from __future__ import annotations

import pytest
from lineage_shapes import EMAIL, INCIDENT, PHONE, PHONE_LOOKUP, SECURITY, SECURITY_PHONE, edge, ref, tag

from purpose_lineage.core.evaluate import (
    consent_holds,
    constraints_by_table,
    find_violations,
    place_unknowns,
    predicate_constrains,
)
from purpose_lineage.core.model import Hop, RowConstraint, StatementLineage, Subtype, Unknown, Violation
from purpose_lineage.core.policy import DEFAULT_POLICY_PATH, load_policy
from purpose_lineage.core.report import render_path

ADS = "security-contact-never-to-ads"
DISCOVERY = "security-contact-discovery-needs-consent"
CONSENT = ref("users.discoverable_by_phone")


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def test_incident_is_one_violation_with_the_full_three_hop_path(policy):
    assert find_violations([SECURITY_PHONE], INCIDENT, policy) == [
        Violation(
            rule=ADS,
            sink="ad_audience_acme",
            sink_column="user_id",
            source="users_2fa",
            source_column="phone_number",
            purpose=SECURITY,
            category=PHONE,
            path=(
                Hop("users_2fa", "phone_number"),
                Hop("phone_hashes", "phone_sha", "DIRECT/TRANSFORMATION", masked=True),
                Hop("matched", "matched_id", "INDIRECT/JOIN"),
                Hop("ad_audience_acme", "user_id", "DIRECT/IDENTITY"),
            ),
        )
    ]


def test_incident_path_renders_without_data(policy):
    (violation,) = find_violations([SECURITY_PHONE], INCIDENT, policy)
    assert violation.edge_kinds == ("DIRECT/TRANSFORMATION", "INDIRECT/JOIN", "DIRECT/IDENTITY")
    assert render_path(violation) == (
        "users_2fa.phone_number [essential.service.security] -DIRECT/TRANSFORMATION(masked)-> "
        "phone_hashes.phone_sha -INDIRECT/JOIN-> matched.matched_id "
        "-DIRECT/IDENTITY-> ad_audience_acme.user_id"
    )


def test_authentication_purpose_is_denied_like_security(policy):
    auth = tag("users_2fa.phone_number", PHONE, "essential.service.authentication")
    assert [v.purpose for v in find_violations([auth], INCIDENT, policy)] == [
        "essential.service.authentication"
    ]


def test_join_key_straight_into_the_sink_reports_the_dataset(policy):
    # CREATE TABLE ad_audience_acme AS SELECT a.user_id FROM advertiser_uploads a JOIN users_2fa t
    #   ON a.phone = t.phone_number          -- the phone never lands in the output
    edges = [
        edge("advertiser_uploads.user_id", "ad_audience_acme.user_id", Subtype.IDENTITY),
        edge("users_2fa.phone_number", "ad_audience_acme", Subtype.JOIN),
        edge("advertiser_uploads.phone", "ad_audience_acme", Subtype.JOIN),
    ]
    (v,) = find_violations([SECURITY_PHONE], edges, policy)
    assert (v.sink, v.sink_column, v.edge_kinds) == ("ad_audience_acme", None, ("INDIRECT/JOIN",))


def test_filter_only_use_is_a_violation(policy):
    # CREATE TABLE ad_audience_x AS SELECT user_id FROM users_2fa WHERE phone_number LIKE '+1%'
    edges = [
        edge("users_2fa.user_id", "ad_audience_x.user_id", Subtype.IDENTITY),
        edge("users_2fa.phone_number", "ad_audience_x", Subtype.FILTER),
    ]
    assert [v.edge_kinds for v in find_violations([SECURITY_PHONE], edges, policy)] == [("INDIRECT/FILTER",)]


def test_marketing_consented_email_may_reach_the_audience(policy):
    # CREATE TABLE ad_audience_acme AS SELECT sha256(email) AS email_sha FROM newsletter_optins
    edges = [
        edge("newsletter_optins.email", "ad_audience_acme.email_sha", Subtype.TRANSFORMATION, masked=True)
    ]
    consented = tag("newsletter_optins.email", EMAIL, "marketing.advertising.first_party.targeted")
    assert find_violations([consented], edges, policy) == []
    security_email = tag("newsletter_optins.email", EMAIL, SECURITY)
    assert [v.rule for v in find_violations([security_email], edges, policy)] == [ADS]


def test_other_categories_are_not_covered_by_the_contact_rules(policy):
    device = tag("users_2fa.phone_number", "user.device.device_id", SECURITY)
    assert find_violations([device], INCIDENT, policy) == []


def test_unknown_purpose_fails_closed_for_ad_sinks_only(policy):
    for purpose in ("unknown", "essential.service.secutiry"):  # sentinel, and a key not in the taxonomy
        unknown = tag("users_2fa.phone_number", PHONE, purpose)
        assert [(v.rule, v.sink) for v in find_violations([unknown], INCIDENT, policy)] == [
            (ADS, "ad_audience_acme")
        ]
        assert find_violations([unknown], PHONE_LOOKUP, policy) == []


# -- consent ---------------------------------------------------------------------------


def test_discovery_sink_needs_the_consent_filter(policy):
    (v,) = find_violations([SECURITY_PHONE], PHONE_LOOKUP, policy)
    assert (v.rule, v.sink, v.sink_column) == (DISCOVERY, "phone_lookup", "phone_sha")


@pytest.mark.parametrize(
    "predicate",
    [
        "users.discoverable_by_phone = TRUE",
        "TRUE = users.discoverable_by_phone",
        "users.discoverable_by_phone IS TRUE",
        "users.discoverable_by_phone",
        "(users.discoverable_by_phone)",
        "users.discoverable_by_phone IN (TRUE)",
        "COALESCE(users.discoverable_by_phone, FALSE)",
        "users.discoverable_by_phone AND users.country = 'DE'",
        "users.discoverable_by_phone = TRUE OR (users.discoverable_by_phone AND users.beta)",
    ],
)
def test_consent_filter_that_constrains_exempts_the_discovery_sink(policy, predicate):
    constraints = {"phone_lookup": [RowConstraint(CONSENT, predicate)]}
    assert find_violations([SECURITY_PHONE], PHONE_LOOKUP, policy, constraints=constraints) == []


@pytest.mark.parametrize(
    "predicate",
    [
        "users.discoverable_by_phone = TRUE OR TRUE",
        "users.discoverable_by_phone OR users.country = 'DE'",
        "NOT users.discoverable_by_phone",
        "users.discoverable_by_phone = FALSE",
        "users.discoverable_by_phone IS NOT FALSE",
        "users.discoverable_by_phone IS NOT NULL",
        "users.discoverable_by_phone <> TRUE",
        "users.discoverable_by_phone = 1",
        "users.discoverable_by_phone IN (SELECT TRUE)",
        "users.discoverable_by_phone = ",  # unparseable: constrains nothing
    ],
)
def test_consent_filter_that_does_not_constrain_exempts_nothing(policy, predicate):
    constraints = {"phone_lookup": [RowConstraint(CONSENT, predicate)]}
    assert [
        v.rule for v in find_violations([SECURITY_PHONE], PHONE_LOOKUP, policy, constraints=constraints)
    ] == [DISCOVERY]


def test_consent_on_the_wrong_table_column_or_statement_exempts_nothing(policy):
    wrong = [
        {"phone_lookup": [RowConstraint(ref("contacts.discoverable_by_phone"), "discoverable_by_phone")]},
        {"phone_lookup": [RowConstraint(ref("users.is_active"), "users.is_active")]},
        {"users_copy": [RowConstraint(CONSENT, "users.discoverable_by_phone")]},  # another statement's output
    ]
    for constraints in wrong:
        assert len(find_violations([SECURITY_PHONE], PHONE_LOOKUP, policy, constraints=constraints)) == 1


def test_schema_qualified_names_meet_the_unqualified_declaration(policy):
    # the policy says users.discoverable_by_phone; the warehouse says public.users / "Public"."Phone_Lookup"
    edges = [edge("users_2fa.phone_number", "public.phone_lookup.phone_sha", Subtype.TRANSFORMATION)]
    consent = RowConstraint(ref("public.users.discoverable_by_phone"), "users.discoverable_by_phone")
    assert len(find_violations([SECURITY_PHONE], edges, policy)) == 1
    assert (
        find_violations([SECURITY_PHONE], edges, policy, constraints={'"Public"."Phone_Lookup"': [consent]})
        == []
    )


def test_consent_never_exempts_an_ad_sink(policy):
    # the same consent filter on an ad audience: the exception is declared for phone_lookup only
    edges = [
        edge("users_2fa.phone_number", "ad_audience_acme.phone_sha", Subtype.TRANSFORMATION, masked=True)
    ]
    constraints = {"ad_audience_acme": [RowConstraint(CONSENT, "users.discoverable_by_phone = TRUE")]}
    assert [v.rule for v in find_violations([SECURITY_PHONE], edges, policy, constraints=constraints)] == [
        ADS
    ]


def test_consent_exempts_the_sink_but_not_what_is_built_from_it(policy):
    edges = [
        *PHONE_LOOKUP,
        edge("phone_lookup.phone_sha", "ad_audience_lookalike.phone_sha", Subtype.IDENTITY),
    ]
    constraints = {"phone_lookup": [RowConstraint(CONSENT, "users.discoverable_by_phone")]}
    assert [
        (v.rule, v.sink) for v in find_violations([SECURITY_PHONE], edges, policy, constraints=constraints)
    ] == [(ADS, "ad_audience_lookalike")]


def test_consent_counts_only_if_every_statement_writing_the_sink_has_it():
    filtered = StatementLineage(0, "", "phone_lookup", constraints=(RowConstraint(CONSENT, "x"),))
    unfiltered = StatementLineage(1, "", "phone_lookup")
    assert constraints_by_table([filtered]) == {"phone_lookup": [RowConstraint(CONSENT, "x")]}
    assert constraints_by_table([filtered, unfiltered]) == {"phone_lookup": []}


def test_consent_value_may_be_a_string_or_integer():
    exc = load_policy().consent_exceptions[0]
    from dataclasses import replace

    assert consent_holds(
        replace(exc, equals="yes"), [RowConstraint(CONSENT, "discoverable_by_phone = 'yes'")]
    )
    assert not consent_holds(
        replace(exc, equals="yes"), [RowConstraint(CONSENT, "discoverable_by_phone = 'no'")]
    )
    assert consent_holds(replace(exc, equals=1), [RowConstraint(CONSENT, "discoverable_by_phone = 1")])
    assert not predicate_constrains("discoverable_by_phone", "discoverable_by_phone", 1)


# -- unknowns --------------------------------------------------------------------------


def test_unknown_on_the_path_into_a_sink_is_a_violation_unless_allowed(policy):
    # INSERT INTO ad_audience_x SELECT my_udf(*) FROM users_2fa   -- nothing resolved
    statement = StatementLineage(
        3, "...", "ad_audience_x", ("users_2fa",), unknowns=(Unknown("unresolved star under a UDF", line=1),)
    )
    unknowns = place_unknowns([statement])
    assert unknowns == [
        Unknown("unresolved star under a UDF", "ad_audience_x", None, 3, 1, ("users_2fa",)),
    ]
    (v,) = find_violations([SECURITY_PHONE], [], policy, unknowns=unknowns)
    assert (v.rule, v.sink, v.edge_kinds) == (ADS, "ad_audience_x", ("UNKNOWN",))
    assert find_violations([SECURITY_PHONE], [], policy, unknowns=unknowns, allow_unknown=True) == []


def test_unknown_upstream_of_a_sink_also_fails_closed(policy):
    # staging is built with an unresolved column; the audience copies staging
    edges = [edge("staging.user_id", "ad_audience_x.user_id", Subtype.IDENTITY)]
    unknowns = [Unknown("unresolved column", "staging", "user_id", inputs=("users_2fa",))]
    (v,) = find_violations([SECURITY_PHONE], edges, policy, unknowns=unknowns)
    assert render_path(v) == (
        "users_2fa.phone_number [essential.service.security] -UNKNOWN-> staging.user_id "
        "-DIRECT/IDENTITY-> ad_audience_x.user_id"
    )


def test_unknown_not_fed_by_tagged_data_is_harmless(policy):
    unknowns = [Unknown("unresolved", "ad_audience_x", inputs=("advertiser_uploads",))]
    assert find_violations([SECURITY_PHONE], INCIDENT, policy, unknowns=unknowns) == [
        *find_violations([SECURITY_PHONE], INCIDENT, policy)
    ]
    assert len(find_violations([SECURITY_PHONE], INCIDENT, policy, unknowns=unknowns)) == 1


# -- edge kinds, aggregates, cycles, several sources -----------------------------------------


def test_aggregates_are_violations_under_the_default_policy(policy):
    # CREATE TABLE ad_audience_stats AS
    #   SELECT country, COUNT(DISTINCT phone_number) AS n FROM users_2fa GROUP BY 1
    counted = edge(
        "users_2fa.phone_number", "ad_audience_stats.n", Subtype.AGGREGATION, description="COUNT(DISTINCT x)"
    )
    assert [v.edge_kinds for v in find_violations([SECURITY_PHONE], [counted], policy)] == [
        ("DIRECT/AGGREGATION",)
    ]


def test_a_declared_safe_aggregate_ends_the_purpose(tmp_path):
    text = DEFAULT_POLICY_PATH.read_text().replace(
        "    edge_kinds: all\n  - name: security-contact-discovery",
        "    edge_kinds: all\n    safe_aggregations: [count]\n  - name: security-contact-discovery",
    )
    (tmp_path / "p.yaml").write_text(text)
    policy = load_policy(tmp_path / "p.yaml")
    counted = edge(
        "users_2fa.phone_number", "ad_audience_stats.n", Subtype.AGGREGATION, description="COUNT(DISTINCT x)"
    )
    maxed = edge("users_2fa.phone_number", "ad_audience_stats.m", Subtype.AGGREGATION, description="MAX(x)")
    grouped = edge("users_2fa.phone_number", "ad_audience_stats.g", Subtype.GROUP_BY)
    assert find_violations([SECURITY_PHONE], [counted], policy) == []
    assert [v.sink_column for v in find_violations([SECURITY_PHONE], [counted, maxed], policy)] == ["m"]
    assert [v.edge_kinds for v in find_violations([SECURITY_PHONE], [counted, grouped], policy)] == [
        ("INDIRECT/GROUP_BY",)
    ]


def test_cycles_across_dags_report_each_sink_once(policy):
    edges = [
        edge("users_2fa.phone_number", "a.x", Subtype.TRANSFORMATION),
        edge("a.x", "b.y", Subtype.IDENTITY),
        edge("b.y", "a.x", Subtype.IDENTITY),
        edge("b.y", "ad_audience_c.z", Subtype.IDENTITY),
        edge("ad_audience_c.z", "b.y", Subtype.IDENTITY),
    ]
    (v,) = find_violations([SECURITY_PHONE], edges, policy)
    assert [str(h) for h in v.path] == ["users_2fa.phone_number", "a.x", "b.y", "ad_audience_c.z"]


def test_each_tagged_source_into_a_sink_is_its_own_violation(policy):
    edges = [
        edge("users_2fa.phone_number", "ad_audience_acme.handle", Subtype.TRANSFORMATION),
        edge("logins.email", "ad_audience_acme.handle", Subtype.TRANSFORMATION),
        edge("newsletter.email", "ad_audience_acme.handle", Subtype.TRANSFORMATION),
    ]
    tags = [
        SECURITY_PHONE,
        tag("logins.email", EMAIL, "essential.service.authentication"),
        tag("newsletter.email", EMAIL, "marketing.advertising.first_party.targeted"),
    ]
    assert [(v.source, v.source_column, v.purpose) for v in find_violations(tags, edges, policy)] == [
        ("logins", "email", "essential.service.authentication"),
        ("users_2fa", "phone_number", SECURITY),
    ]


def test_a_whole_table_tag_covers_each_of_its_columns(policy):
    whole_table = tag("users_2fa", PHONE, SECURITY)
    (v,) = find_violations([whole_table], INCIDENT, policy)
    assert (v.source, v.source_column, v.sink) == ("users_2fa", None, "ad_audience_acme")
    assert str(v.path[0]) == "users_2fa.phone_number"


def test_a_category_below_a_taxonomy_key_is_matched_by_prefix(policy):
    # a detector may emit finer keys than fideslang has; "user.contact.phone_number.mobile" is still contact
    finer = tag("users_2fa.phone_number", "user.contact.phone_number.mobile", SECURITY)
    assert [v.category for v in find_violations([finer], INCIDENT, policy)] == [
        "user.contact.phone_number.mobile"
    ]
    assert (
        find_violations([tag("users_2fa.phone_number", "user.contactless", SECURITY)], INCIDENT, policy) == []
    )


def test_a_tag_already_sitting_in_a_sink_is_a_violation(policy):
    in_sink = tag("ad_audience_acme.phone", PHONE, SECURITY)
    (v,) = find_violations([in_sink], [], policy)
    assert v.path == (Hop("ad_audience_acme", "phone"),)


def test_few_hundred_edges_evaluate_in_one_pass(policy):
    """Shape check for the benchmark: a chain of 300 statements, the sink at the end."""
    edges = [edge(f"t{i}.c", f"t{i + 1}.c", Subtype.IDENTITY) for i in range(300)]
    edges.append(edge("t300.c", "ad_audience_end.c", Subtype.IDENTITY))
    (v,) = find_violations([tag("t0.c", PHONE, SECURITY)], edges, policy)
    assert len(v.path) == 302


def test_select_star_without_catalog_fails_closed_at_the_output():
    # the analyser places the unknown at the *input* (users_2fa.*); the policy must see it
    # flow into the sink, or an unresolved star would let a 2FA phone through unseen
    from purpose_lineage.core.evaluate import place_unknowns
    from purpose_lineage.core.lineage import analyze

    statements = analyze("CREATE TABLE ad_audience_x AS SELECT * FROM users_2fa")
    from purpose_lineage.core.model import ColumnRef, Tag

    phone = Tag(ColumnRef("users_2fa", "phone_number"), "user.contact.phone_number", SECURITY)
    edges = [e for s in statements for e in s.edges]
    found = find_violations([phone], edges, load_policy(), unknowns=place_unknowns(statements))
    assert [(v.sink, v.source, v.source_column) for v in found] == [
        ("ad_audience_x", "users_2fa", "phone_number")
    ]
