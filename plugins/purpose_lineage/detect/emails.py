"""E-mail validation of a bounded sample, with email-validator (RFC 5321/5322/6531 aware).

``Name <address>`` and ``mailto:`` forms are accepted; deliverability (DNS) is never
checked, so the scan makes no network calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email


@dataclass
class EmailVerdict:
    """Validation counts for one column's e-mail candidates. ``normalized`` holds a few
    valid addresses, for masked examples only."""

    validated: int = 0
    valid: int = 0
    display_names: int = 0
    normalized: list[str] = field(default_factory=list)

    @property
    def valid_share(self) -> float:
        return self.valid / self.validated if self.validated else 0.0


EARLY_STOP = 32  # validation may stop after this many values once the verdict is clear


def validate_emails(values: Sequence[str], *, early: int = EARLY_STOP) -> EmailVerdict:
    """Validate e-mail candidates of one column, in order; stops after ``early`` values
    when at most one is invalid or at most 10% are valid.

    >>> v = validate_emails(["ann@mail.example.org", '"Doe, J" <j.doe@example.co.uk>', "a@b@c.org"])
    >>> v.validated, v.valid, v.display_names
    (3, 2, 1)
    """
    verdict = EmailVerdict()
    for value in values:
        invalid = verdict.validated - verdict.valid
        if verdict.validated >= early and (invalid <= 1 or verdict.valid_share <= 0.1):
            break
        verdict.validated += 1
        text = value.strip()
        if text[:7].lower() == "mailto:":
            text = text[7:]
        try:
            result = validate_email(text, check_deliverability=False, allow_display_name=True)
        except EmailNotValidError:
            continue
        verdict.valid += 1
        verdict.display_names += bool(result.display_name)
        if len(verdict.normalized) < 8:
            verdict.normalized.append(result.normalized)
    return verdict
