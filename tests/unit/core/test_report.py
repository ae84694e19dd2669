"""Violation reports: text and Markdown, metadata only."""

from __future__ import annotations

from lineage_shapes import INCIDENT, SECURITY_PHONE, edge

from purpose_lineage.core.evaluate import find_violations
from purpose_lineage.core.model import Subtype
from purpose_lineage.core.policy import load_policy
from purpose_lineage.core.report import render_markdown, render_text


def incident_violations():
    return find_violations([SECURITY_PHONE], INCIDENT, load_policy())


def test_text_report():
    assert render_text(incident_violations()) == (
        "1 purpose violation:\n"
        "- user.contact.phone_number collected for essential.service.security reaches "
        "ad_audience_acme.user_id (rule security-contact-never-to-ads)\n"
        "    users_2fa.phone_number [essential.service.security] -DIRECT/TRANSFORMATION(masked)-> "
        "phone_hashes.phone_sha -INDIRECT/JOIN-> matched.matched_id "
        "-DIRECT/IDENTITY-> ad_audience_acme.user_id"
    )


def test_markdown_report():
    assert render_markdown(incident_violations()) == (
        "### 1 purpose violation\n"
        "\n"
        "- **`security-contact-never-to-ads`**: `user.contact.phone_number` collected for "
        "`essential.service.security` reaches `ad_audience_acme.user_id`\n"
        "  `users_2fa.phone_number [essential.service.security] -DIRECT/TRANSFORMATION(masked)-> "
        "phone_hashes.phone_sha -INDIRECT/JOIN-> matched.matched_id "
        "-DIRECT/IDENTITY-> ad_audience_acme.user_id`"
    )


def test_reports_never_contain_edge_descriptions_or_literals():
    # the analyser may put SQL with literals into an edge description; reports must not echo it
    secret = "+15551234567"
    edges = [
        edge(
            "users_2fa.phone_number",
            "ad_audience_x",
            Subtype.FILTER,
            description=f"users_2fa.phone_number <> '{secret}'",
        )
    ]
    violations = find_violations([SECURITY_PHONE], edges, load_policy())
    assert len(violations) == 1
    for text in (render_text(violations), render_markdown(violations), repr(violations)):
        assert secret not in text


def test_dataset_sink_and_plural():
    edges = [
        edge("users_2fa.phone_number", "ad_audience_x", Subtype.JOIN),
        edge("users_2fa.phone_number", "ad_audience_y.p", Subtype.IDENTITY),
    ]
    text = render_text(find_violations([SECURITY_PHONE], edges, load_policy()))
    assert text.splitlines()[0] == "2 purpose violations:"
    assert "reaches ad_audience_x (rule" in text
    assert "-INDIRECT/JOIN-> ad_audience_x\n" in text
