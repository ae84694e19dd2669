"""Defensive redaction of free text before it leaves the process in an alert.

Alerts are built from lineage *metadata* only (table, column, purpose, edge kind). The one
place where data could slip in is free text written by someone else: an exception message
(a database error quoting a row, a Great Expectations result listing unexpected values), a
log line. :func:`scrub` redacts anything in such text that looks like a phone number, an
e-mail address or a hash/fingerprint, and bounds its length.

It is a last line of defence, tuned to over-redact: a false positive costs a digit run in an
error message, a false negative leaks an identifier into a chat channel.

>>> scrub("row (id=7, phone='+1 (415) 555-0100', mail=Jane.Doe@example.com) rejected")
"row (id=7, phone='[redacted phone]', mail=[redacted email]) rejected"
>>> scrub("fingerprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 matched")
'fingerprint [redacted hash] matched'
>>> scrub("run scheduled__2026-01-02T00:00:00+00:00 of users_2fa")
'run scheduled__2026-01-02T00:00:00+00:00 of users_2fa'
"""

from __future__ import annotations

import re
import traceback

REDACTED_PHONE = "[redacted phone]"
REDACTED_EMAIL = "[redacted email]"
REDACTED_HASH = "[redacted hash]"
DEFAULT_MAX_CHARS = 1000
PRECUT_FACTOR = 4  # text beyond 4 x max_chars is dropped before scrubbing (it would be cut anyway)
MIN_PHONE_DIGITS = 7  # shortest national numbers; also catches 64-bit fingerprints printed as integers

# local@domain.tld, also URL-encoded (%40) and with a "mailto:" in front
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# hex runs of 16+ (64-bit, md5, sha1, sha256 ...), optionally 0x-prefixed or \x-escaped bytes
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:0x|\\x)?[0-9a-fA-F]{16,}(?![0-9A-Za-z])|(?:\\x[0-9a-fA-F]{2}){8,}")
# base64 of a digest: 20+ chars of the alphabet with upper, lower case and a digit
_B64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{20,}={0,2}(?![A-Za-z0-9+/=])")
# digits with the separators phone numbers are written with; counted afterwards
_PHONE = re.compile(r"(?<![\w])(?:\+|00)?\(?\d[\d\s().\-/]{5,}\d(?![\w])|\d{7,}")
# an ISO date or time inside an Airflow run id or a log line is not a phone number
_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}){1,2}(?:\.\d+)?)?$"  # date, date-time
    r"|^\d{2}:\d{2}:\d{2}(?:\.\d+)?$|^\d{2}\.\d{1,9}$"  # time, seconds.fraction
)


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if digits < MIN_PHONE_DIGITS or _DATE.match(text.strip()):
        return text
    return REDACTED_PHONE


def _b64(match: re.Match[str]) -> str:
    text = match.group(0)
    mixed = (
        any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)
    )
    return REDACTED_HASH if mixed else text


def scrub(text: object, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Redact phone numbers, e-mail addresses and hashes from ``text``; cut it to ``max_chars``.

    Args:
        text: any object; it is turned into text with ``str()`` first.
        max_chars: longest result; longer text is cut and ends with an ellipsis.

    Returns:
        The text with every match replaced by a ``[redacted ...]`` marker.

    >>> scrub("md5 5d41402abc4b2a76b9719d911017c592 / 447700900123 / x@y.io")
    'md5 [redacted hash] / [redacted phone] / [redacted email]'
    """
    out = str(text)
    if len(out) > PRECUT_FACTOR * max_chars:
        # bound the regex work on huge messages; cut at a space so no identifier is split in two
        head = out[: PRECUT_FACTOR * max_chars]
        space = max(head.rfind(" "), head.rfind("\n"))
        out = head[:space] if space > max_chars else head[: max(0, len(head) - 256)]
    out = _EMAIL.sub(REDACTED_EMAIL, out)
    out = _HEX.sub(REDACTED_HASH, out)
    out = _B64.sub(_b64, out)
    out = _PHONE.sub(_phone, out)
    if len(out) > max_chars:
        out = out[: max_chars - 1].rstrip() + "…"
    return out


def contains_sensitive(text: str) -> bool:
    """True if :func:`scrub` would redact something in ``text``.

    >>> contains_sensitive("users_2fa.phone_number"), contains_sensitive("call +44 7700 900123")
    (False, True)
    """
    return scrub(text, max_chars=len(text) + 1) != text


def scrubbed_traceback(error: BaseException) -> str:
    """The formatted traceback of ``error``, scrubbed: for debug logs.

    >>> "[redacted email]" in scrubbed_traceback(ValueError("bad x@example.com"))
    True
    """
    return scrub("".join(traceback.format_exception(error)), max_chars=20_000)


__all__ = [
    "REDACTED_EMAIL",
    "REDACTED_HASH",
    "REDACTED_PHONE",
    "contains_sensitive",
    "scrub",
    "scrubbed_traceback",
]
