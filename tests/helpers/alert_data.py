"""The motivating incident as alert test data: identifiers that must never reach an alert.

``PHONES`` and ``EMAILS`` are the data subjects' identifiers (2FA phone numbers, and the
addresses of the same users). :func:`needles` lists them in the spellings a leak could take,
plus their sha256 and md5 hex digests; :func:`leaks` scans a received message for any.
"""

from __future__ import annotations

import hashlib
import re

from purpose_lineage.core.model import Hop, Violation

PHONES = ("+14155550100", "+14155550117", "+447700900123", "+33612345678")
EMAILS = ("alice.martin@example.com", "bob.k@example.com", "chloe+ads@example.net", "dmitri@example.org.uk")
RECIPIENTS = ("privacy-oncall@alerts.test",)  # who receives alerts: not a data subject


def _spellings(phone: str) -> set[str]:
    digits = phone.lstrip("+")
    national = digits[1:] if digits.startswith("1") else "0" + digits[2:]
    return {phone, digits, national}


def needles() -> set[str]:
    found: set[str] = set()
    for value in [*PHONES, *EMAILS]:
        variants = _spellings(value) if value.startswith("+") else {value, value.lower()}
        for v in variants:
            found.add(v.lower())
            found.add(hashlib.sha256(v.encode()).hexdigest())
            found.add(hashlib.md5(v.encode()).hexdigest())  # noqa: S324 - what a leak would look like
    return found


def leaks(text: str | bytes) -> list[str]:
    """Every needle found in ``text`` (case-insensitive, also with separators stripped from digits)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    low = text.lower()
    squeezed = re.sub(r"(?<=\d)[\s().\-/]+(?=\d)", "", low)
    return sorted(n for n in needles() if n in low or n in squeezed)


def incident_violations() -> list[Violation]:
    """The incident's two paths: a JOIN-key use and a hashed copy of the 2FA phone number."""
    security, category = "essential.service.security", "user.contact.phone_number"
    return [
        Violation(
            rule="security_purpose_never_in_advertising",
            sink="ad_audience_acme",
            sink_column="user_id",
            source="users_2fa",
            source_column="phone_number",
            purpose=security,
            category=category,
            path=(
                Hop("users_2fa", "phone_number"),
                Hop("acme_upload_matches", None, "INDIRECT/JOIN"),
                Hop("ad_audience_acme", "user_id", "DIRECT/IDENTITY"),
            ),
        ),
        Violation(
            rule="security_purpose_never_in_advertising",
            sink="ad_audience_acme",
            sink_column="phone_hash",
            source="users_2fa",
            source_column="phone_number",
            purpose=security,
            category=category,
            path=(
                Hop("users_2fa", "phone_number"),
                Hop("stage_acme", "phone_sha256", "DIRECT/TRANSFORMATION (masked)"),
                Hop("ad_audience_acme", "phone_hash", "DIRECT/IDENTITY"),
            ),
        ),
    ]


def leaky_error_text() -> str:
    """An error message quoting values, as a data-quality tool may write one."""
    phone, mail = PHONES[0], EMAILS[0]
    digest = hashlib.sha256(phone.encode()).hexdigest()
    return (
        f"2 unexpected values in ad_audience_acme.phone_hash, e.g. {phone!r} ({mail}), "
        f"fingerprint {digest}; partial_unexpected_list=['{PHONES[2][:3]} {PHONES[2][3:7]} {PHONES[2][7:]}']"
    )
