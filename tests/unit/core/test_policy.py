"""The policy file: the default policy, and exact messages for broken ones.

Every broken policy is rejected as a whole (``load_policy`` raises, nothing runs), and each
problem names the file, the line and the nearest valid key or field.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from purpose_lineage.core.model import ColumnRef, Edge, Subtype
from purpose_lineage.core.policy import (
    DEFAULT_POLICY_PATH,
    EDGE_KINDS,
    SCHEMA_PATH,
    Rule,
    check_policy,
    load_policy,
    validate_against_tables,
)
from purpose_lineage.errors import PolicyError

ROOT = Path(__file__).resolve().parents[3]

BASE = """\
version: 1
sinks:
  - name: ads
    tables: ["ad_audience_*"]
    use: marketing.advertising.third_party.targeted
rules:
  - name: no-ads
    data_categories: [user.contact]
    source_purposes: [essential.service.security, unknown]
    sink_uses: [marketing.advertising]
"""


def problems_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> list[str]:
    monkeypatch.chdir(tmp_path)
    Path("p.yaml").write_text(text)
    policy, problems = check_policy("p.yaml")
    assert policy is None
    with pytest.raises(PolicyError) as err:
        load_policy("p.yaml")
    assert err.value.problems == [str(p) for p in problems]
    return [str(p) for p in problems]


# -- the default policy ----------------------------------------------------------------


def test_default_policy_loads_with_its_rules_sinks_and_consent_exception():
    policy = load_policy()
    assert [r.name for r in policy.rules] == [
        "security-contact-never-to-ads",
        "security-contact-discovery-needs-consent",
    ]
    ads, discovery = policy.rules
    assert ads.data_categories == ("user.contact",)
    assert ads.source_purposes == (
        "essential.service.security",
        "essential.service.authentication",
        "unknown",
    )
    assert ads.sink_uses == ("marketing.advertising",)
    assert ads.edge_kinds == frozenset(EDGE_KINDS) and ads.safe_aggregations == frozenset()
    assert "unknown" not in discovery.source_purposes
    assert [(s.name, s.tables, s.use) for s in policy.sinks] == [
        ("ad_audiences", ("ad_audience*",), "marketing.advertising.third_party.targeted"),
        ("phone_lookup", ("phone_lookup",), "functional.service.contact_discovery"),
    ]
    (consent,) = policy.consent_exceptions
    assert (consent.sinks, consent.rules, consent.column, consent.equals) == (
        ("phone_lookup",),
        ("security-contact-discovery-needs-consent",),
        ColumnRef("users", "discoverable_by_phone"),
        True,
    )


def test_default_policy_adds_a_custom_discovery_use_under_functional_service():
    tax = load_policy().taxonomy
    assert tax.covers("data_use", "functional.service", "functional.service.contact_discovery")
    assert not tax.covers("data_use", "marketing.advertising", "functional.service.contact_discovery")


def test_default_policy_rule_matching_follows_the_hierarchy_and_fails_closed_on_unknown_purposes():
    policy = load_policy()
    ads = policy.rules[0]
    tax = policy.taxonomy
    assert ads.applies_to(tax, "user.contact.phone_number", "essential.service.security")
    assert ads.applies_to(tax, "user.contact.email", "essential.service.authentication")
    assert ads.applies_to(tax, "user.contact.phone_number", "unknown")
    assert ads.applies_to(tax, "user.contact.phone_number", "not.a.real.purpose")  # unknown key: fail closed
    assert not ads.applies_to(tax, "user.contact.email", "marketing.communications.email")
    assert not ads.applies_to(tax, "user.financial", "essential.service.security")
    assert ads.denies_use(tax, "marketing.advertising.third_party.targeted")
    assert not ads.denies_use(tax, "functional.service.contact_discovery")


def test_sink_patterns_match_the_last_name_part_case_insensitively():
    policy = load_policy()
    assert [s.name for s in policy.sinks_for('analytics."AD_AUDIENCE_acme"')] == ["ad_audiences"]
    assert [s.name for s in policy.sinks_for("ad_audience")] == ["ad_audiences"]
    assert policy.sinks_for("audience_ad") == ()
    assert [s.name for s in policy.sinks_for("public.phone_lookup")] == ["phone_lookup"]


def test_rule_counts_edges_by_kind_and_ends_a_purpose_only_at_declared_safe_aggregates():
    a, b = ColumnRef("users_2fa", "phone_number"), ColumnRef("stats", "n")
    rule = Rule(
        "r", ("user",), ("essential",), ("marketing",), frozenset({"direct", "aggregation"}), {"count"}
    )
    assert rule.counts(Edge(a, b, Subtype.TRANSFORMATION, masking=True))  # hashing keeps the purpose
    assert rule.counts(Edge(a, b, Subtype.IDENTITY))
    assert not rule.counts(Edge(a, b, Subtype.AGGREGATION, description="COUNT(DISTINCT phone_number)"))
    assert rule.counts(Edge(a, b, Subtype.AGGREGATION, description="max(phone_number)"))
    assert rule.counts(Edge(a, b, Subtype.AGGREGATION))  # unknown aggregate: not safe
    assert not rule.counts(Edge(a, b, Subtype.JOIN))  # not one of this rule's edge kinds


def test_schema_ships_in_package_and_docs_identically():
    assert (ROOT / "docs/reference/policy.schema.json").read_text() == SCHEMA_PATH.read_text()


def test_default_policy_validates_against_the_json_schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(DEFAULT_POLICY_PATH.read_text()))


def test_schema_edge_kinds_and_required_fields_agree_with_the_loader():
    schema = json.loads(SCHEMA_PATH.read_text())
    rule = schema["$defs"]["rule"]
    assert rule["properties"]["edge_kinds"]["oneOf"][1]["items"]["enum"] == list(EDGE_KINDS)
    assert rule["required"] == ["name", "data_categories", "source_purposes", "sink_uses"]
    assert schema["required"] == ["sinks", "rules"]


# -- broken policies: one test each, exact messages ---------------------------------------


def test_malformed_yaml(tmp_path, monkeypatch):
    text = "rules:\n  - name: a\n    sink_uses: [x\n"
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:4: malformed YAML: while parsing a flow sequence: expected ',' or ']', but got '<stream end>'"
    ]


def test_not_a_mapping(tmp_path, monkeypatch):
    assert problems_of(tmp_path, monkeypatch, "- rules\n- sinks\n") == [
        "p.yaml:1: expected a mapping, got a list"
    ]


def test_empty_file(tmp_path, monkeypatch):
    assert problems_of(tmp_path, monkeypatch, "# nothing here\n") == [
        "p.yaml:1: policy is empty; expected a mapping with 'sinks' and 'rules'"
    ]


def test_misspelled_top_level_field(tmp_path, monkeypatch):
    assert problems_of(tmp_path, monkeypatch, BASE + "consent_exeptions: []\n") == [
        "p.yaml:11: unknown field 'consent_exeptions'; did you mean 'consent_exceptions'?"
    ]


def test_misspelled_rule_field_is_not_also_reported_missing(tmp_path, monkeypatch):
    assert problems_of(tmp_path, monkeypatch, BASE.replace("sink_uses:", "sink_use:")) == [
        "p.yaml:10: rules[0]: unknown field 'sink_use'; did you mean 'sink_uses'?"
    ]


def test_missing_required_field(tmp_path, monkeypatch):
    text = BASE.replace("    use: marketing.advertising.third_party.targeted\n", "")
    assert problems_of(tmp_path, monkeypatch, text) == ["p.yaml:3: sinks[0]: missing required field 'use'"]


def test_unknown_data_category(tmp_path, monkeypatch):
    text = BASE.replace("[user.contact]", "[user.contact.phone_numbr]")
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:8: rules[0].data_categories[0]: unknown data category 'user.contact.phone_numbr'; "
        "did you mean 'user.contact.phone_number'?"
    ]


def test_unknown_data_use_in_sink_and_rule(tmp_path, monkeypatch):
    text = BASE.replace(
        "use: marketing.advertising.third_party.targeted", "use: marketing.advertsing"
    ).replace("essential.service.security,", "essential.security,")
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:5: sinks[0].use: unknown data use 'marketing.advertsing'; did you mean "
        "'marketing.advertising'?",
        "p.yaml:9: rules[0].source_purposes[0]: unknown data use 'essential.security'; "
        "did you mean 'essential.service.security'?",
    ]


def test_unknown_data_use_far_from_any_key_points_to_the_taxonomy_command(tmp_path, monkeypatch):
    text = BASE.replace("sink_uses: [marketing.advertising]", "sink_uses: [zzz]")
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:10: rules[0].sink_uses[0]: unknown data use 'zzz'; run 'purpose-lineage taxonomy' to list "
        "the keys"
    ]


def test_unknown_edge_kind(tmp_path, monkeypatch):
    assert problems_of(tmp_path, monkeypatch, BASE + "    edge_kinds: [direct, joins]\n") == [
        "p.yaml:11: rules[0].edge_kinds[1]: unknown edge kind 'joins'; did you mean 'join'?"
    ]


def test_custom_key_with_unknown_parent(tmp_path, monkeypatch):
    text = (
        BASE + "taxonomy:\n  data_use:\n    essential.service.discovery:\n      parent: essential.servise\n"
    )
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:14: taxonomy.data_use['essential.service.discovery'].parent: unknown parent "
        "'essential.servise'; did you mean 'essential.service'?"
    ]


def test_custom_key_must_extend_its_parent_and_be_new(tmp_path, monkeypatch):
    text = BASE + (
        "taxonomy:\n"
        "  data_use:\n"
        "    discovery:\n"
        "      parent: essential.service\n"
        "  data_category:\n"
        "    user.contact.email:\n"
        "      parent: user.contact\n"
    )
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:14: taxonomy.data_use['discovery'].parent: custom key 'discovery' must start with its parent "
        "'essential.service.'",
        "p.yaml:16: taxonomy.data_category['user.contact.email']: custom data category 'user.contact.email' "
        "already exists",
    ]


def test_custom_key_must_be_dotted_words(tmp_path, monkeypatch):
    text = (
        BASE
        + "taxonomy:\n  data_use:\n    essential.service.my discovery!:\n      parent: essential.service\n"
    )
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:13: taxonomy.data_use['essential.service.my discovery!']: custom keys are dotted words "
        "of letters, digits, _"
    ]


def test_custom_keys_can_be_used_by_sinks_and_rules(tmp_path):
    text = BASE.replace(
        "use: marketing.advertising.third_party.targeted", "use: marketing.advertising.lookalike"
    )
    text += (
        "taxonomy:\n  data_use:\n    marketing.advertising.lookalike:\n      parent: marketing.advertising\n"
    )
    (tmp_path / "p.yaml").write_text(text)
    policy = load_policy(tmp_path / "p.yaml")
    assert policy.rules[0].denies_use(policy.taxonomy, policy.sinks[0].use)


def test_empty_rules(tmp_path, monkeypatch):
    text = BASE.split("rules:")[0] + "rules: []\n"
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:6: rules: expected at least one rule, got an empty list"
    ]


def test_invalid_sink_patterns(tmp_path, monkeypatch):
    text = BASE.replace('["ad_audience_*"]', '["ad_[audience*", "ad audience", "ads..x"]')
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:4: sinks[0].tables[0]: invalid table pattern 'ad_[audience*': unclosed '['",
        "p.yaml:4: sinks[0].tables[1]: invalid table pattern 'ad audience': unexpected characters ' '",
        "p.yaml:4: sinks[0].tables[2]: invalid table pattern 'ads..x': empty name part",
    ]


def test_duplicate_rule_names(tmp_path, monkeypatch):
    text = BASE + BASE.split("rules:\n")[1]
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:11: rules[1].name: duplicate rule name 'no-ads' (first on line 7)"
    ]


def test_duplicate_yaml_key_is_not_silently_merged(tmp_path, monkeypatch):
    assert problems_of(tmp_path, monkeypatch, BASE + "sinks: []\n") == [
        "p.yaml:11: duplicate field 'sinks' (first on line 2)"
    ]


def test_consent_exception_referencing_undeclared_sink_and_rule(tmp_path, monkeypatch):
    text = BASE + (
        "consent_exceptions:\n"
        "  - name: opt-in\n"
        "    sinks: [add]\n"
        "    rules: [no_ads]\n"
        "    column: discoverable_by_phone\n"
    )
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:13: consent_exceptions[0].sinks[0]: undeclared sink 'add'; did you mean 'ads'?",
        "p.yaml:14: consent_exceptions[0].rules[0]: undeclared rule 'no_ads'; did you mean 'no-ads'?",
        "p.yaml:15: consent_exceptions[0].column: expected 'table.column' (e.g. "
        "'users.discoverable_by_phone'), "
        "got 'discoverable_by_phone'",
    ]


def test_wrong_types(tmp_path, monkeypatch):
    text = (
        BASE.replace("version: 1", "version: one").replace("[user.contact]", "user.contact")
        + "    edge_kinds: join\n"
        + "consent_exceptions:\n  - name: c\n    sinks: [ads]\n    column: users.ok\n    equals: [1]\n"
    )
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:1: version: expected an integer, got a string 'one'",
        "p.yaml:8: rules[0].data_categories: expected a list of strings, got a string 'user.contact'",
        "p.yaml:11: rules[0].edge_kinds: expected 'all' or a list of edge kinds, got a string 'join'",
        "p.yaml:16: consent_exceptions[0].equals: expected a boolean, integer or string, got a list",
    ]


def test_unsafe_and_unknown_aggregates(tmp_path, monkeypatch):
    text = BASE + "    safe_aggregations: [count, max, cnt]\n"
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:11: rules[0].safe_aggregations[1]: aggregate 'max' returns input values and cannot end a "
        "purpose",
        "p.yaml:11: rules[0].safe_aggregations[2]: unknown aggregate 'cnt'; did you mean 'count'?",
    ]


def test_unsupported_version(tmp_path, monkeypatch):
    assert problems_of(tmp_path, monkeypatch, BASE.replace("version: 1", "version: 2")) == [
        "p.yaml:1: version: unsupported version 2; expected 1"
    ]


def test_all_problems_are_reported_at_once(tmp_path, monkeypatch):
    text = BASE.replace("sink_uses:", "sinkuses:").replace("[user.contact]", "[user.contakt]") + "rulez: []\n"
    assert problems_of(tmp_path, monkeypatch, text) == [
        "p.yaml:8: rules[0].data_categories[0]: unknown data category 'user.contakt'; did you mean "
        "'user.contact'?",
        "p.yaml:10: rules[0]: unknown field 'sinkuses'; did you mean 'sink_uses'?",
        "p.yaml:11: unknown field 'rulez'; did you mean 'rules'?",
    ]


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    policy, problems = check_policy(tmp_path / "bin.yaml")
    assert policy is None
    assert len(problems) == 1 and str(problems[0]).startswith(
        f"{tmp_path / 'bin.yaml'}:0: cannot read policy file"
    )


# -- the catalog check ----------------------------------------------------------------------


def test_pattern_matching_no_known_table():
    policy = load_policy()
    source = str(DEFAULT_POLICY_PATH)
    assert [str(p) for p in validate_against_tables(policy, ["main.ad_audiance_acme", "other.users"])] == [
        f"{source}:17: sink 'ad_audiences': table pattern 'ad_audience*' matches no known table; "
        "did you mean 'ad_audiance_acme'?",
        f"{source}:20: sink 'phone_lookup': table pattern 'phone_lookup' matches no known table",
    ]


def test_consent_column_on_an_unknown_table():
    policy = load_policy()
    assert [
        str(p) for p in validate_against_tables(policy, ["ad_audience_acme", "phone_lookup", "user"])
    ] == [
        f"{DEFAULT_POLICY_PATH}:45: consent exception 'discoverable-by-phone': table 'users' of consent "
        "column "
        "'users.discoverable_by_phone' is not a known table; did you mean 'user'?"
    ]


def test_schema_rejects_what_the_loader_rejects(tmp_path):
    """The JSON schema and the loader agree on structural errors (taxonomy checks are the loader's)."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    broken = [
        BASE + "consent_exeptions: []\n",
        BASE.replace("sink_uses:", "sink_use:"),
        BASE + "    edge_kinds: [direct, joins]\n",
        BASE.split("rules:")[0] + "rules: []\n",
        BASE.replace('["ad_audience_*"]', '["ad audience"]'),
        BASE.replace("version: 1", "version: one"),
        BASE + "    safe_aggregations: [max]\n",
    ]
    for text in broken:
        assert not validator.is_valid(yaml.safe_load(text)), text
        (tmp_path / "p.yaml").write_text(text)
        assert check_policy(tmp_path / "p.yaml")[0] is None
    assert validator.is_valid(yaml.safe_load(BASE))


def test_docs_show_the_default_policy_verbatim():
    docs = (ROOT / "docs/reference/policy.md").read_text()
    assert "```yaml\n" + DEFAULT_POLICY_PATH.read_text() + "```" in docs
