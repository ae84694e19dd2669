"""The defensive scrubber redacts identifiers and hashes from free text, and leaves metadata alone."""

from __future__ import annotations

import hashlib

import pytest

from purpose_lineage.notifications.scrub import REDACTED_EMAIL, REDACTED_HASH, REDACTED_PHONE, scrub
from tests.helpers.alert_data import EMAILS, PHONES, leaks, leaky_error_text


@pytest.mark.parametrize(
    "text",
    [
        "+14155550100",
        "+1 (415) 555-0100",
        "415.555.0100",
        "0044 7700 900123",
        "+44 7700 900123",
        "06 12 34 56 78",
        "tel:415 555 0100",
        "tel:+33612345678",
        "phone=14155550117;",
        "9223372036854775807",  # a 64-bit fingerprint printed as an integer
    ],
)
def test_phone_spellings_are_redacted(text):
    out = scrub(f"value {text} rejected")
    assert REDACTED_PHONE in out or REDACTED_HASH in out
    assert not any(c.isdigit() for c in out)


@pytest.mark.parametrize(
    "email", [*EMAILS, "First.Last@Sub.Example.co.uk", "mailto:x_y@example.io", "a%40b.com"]
)
def test_emails_are_redacted(email):
    assert scrub(f"<{email}>") == f"<{REDACTED_EMAIL}>" or scrub(email).endswith(REDACTED_EMAIL)
    assert "@" not in scrub(email) and "%40" not in scrub(email)


@pytest.mark.parametrize("algo", ["md5", "sha1", "sha256", "sha512"])
def test_hex_digests_are_redacted(algo):
    digest = hashlib.new(algo, PHONES[0].encode()).hexdigest()
    assert scrub(f"fp={digest}") == f"fp={REDACTED_HASH}"
    assert scrub(f"fp={digest.upper()}") == f"fp={REDACTED_HASH}"
    assert scrub(f"fp=0x{digest[:16]}") == f"fp={REDACTED_HASH}"


def test_base64_digest_and_escaped_bytes_are_redacted():
    import base64

    raw = hashlib.sha256(EMAILS[0].encode()).digest()
    assert scrub(base64.b64encode(raw).decode()) == REDACTED_HASH
    escaped = "".join(f"\\x{b:02x}" for b in raw[:12])
    assert REDACTED_HASH in scrub(f"b'{escaped}'")


@pytest.mark.parametrize(
    "text",
    [
        "users_2fa.phone_number [essential.service.security] -> INDIRECT/JOIN -> ad_audience_acme.user_id",
        "run scheduled__2026-01-02T00:00:00+00:00 try 3",
        "manual__2026-03-04T05:06:07.123456+00:00",
        "AirflowFailException: guard failed on 2 paths; 1,234 rows checked in 12.5 s",
        "user.contact.phone_number collected for essential.service.security",
        "table ad_audience_2026_01 at 10:30:00",
    ],
)
def test_metadata_is_left_alone(text):
    assert scrub(text) == text


def test_gx_like_error_message_keeps_its_shape_and_loses_every_identifier():
    out = scrub(leaky_error_text())
    assert leaks(out) == []
    assert out.startswith("2 unexpected values in ad_audience_acme.phone_hash")
    assert out.count(REDACTED_PHONE) == 2 and REDACTED_EMAIL in out and REDACTED_HASH in out


def test_long_text_is_bounded():
    out = scrub("x" * 5000, max_chars=100)
    assert len(out) == 100 and out.endswith("…")


def test_huge_text_is_cut_before_scrubbing_without_splitting_an_identifier():
    digest = hashlib.sha512(b"x").hexdigest()
    filler = f"{digest} " * 30 + "z" * 115 + " "  # 3986 chars that scrub down to ~600
    text = filler + EMAILS[0] + " " + "y" * 10_000  # the 4000-char pre-cut falls inside the e-mail
    assert len(filler) < 4000 < len(filler) + len(EMAILS[0])
    out = scrub(text, max_chars=1000)
    assert out.count(REDACTED_HASH) == 30
    assert "alice" not in out and leaks(out) == []
    # an identifier well inside the kept part is still redacted
    out = scrub("x " * 100 + EMAILS[0] + " " + "y" * 10_000, max_chars=1000)
    assert REDACTED_EMAIL in out and leaks(out) == []
