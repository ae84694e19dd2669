"""Keyed fingerprints of contact identifiers: normalise, then HMAC-SHA256, then 64 bits.

A fingerprint lets the guard ask "is this sink value one of our security-only
phone numbers or emails?" without any table holding the identifiers
themselves. The contract, shared with the SQL in ``gx/fingerprints.py``:

* **Identity** of an identifier: its canonical form, E.164 for a phone
  (``+15550101234``) and the trimmed, lower-cased address for an email.
* **Match keys** of an identity: every string a sink could plausibly hold for it
  after :func:`sink_key` canonicalisation: the phone's digits with and without
  the country code (and with the national trunk prefix), and the lower-case
  sha256/md5 hex of the E.164 and digit forms (advertiser uploads are hashed);
  for an email the address and its sha256/md5 hex.
* **Fingerprint** of a string: the first 8 bytes of ``HMAC-SHA256(secret, s)``
  as a signed 64-bit integer (:func:`compact`). 64 bits keep the warehouse join
  fast; at 50M sink rows against 100M keys the expected number of accidental
  collisions is about 3e-4, and a collision can only fail a check, never pass one.

This module is pure apart from ``phonenumbers`` (allowed here: E.164 parsing is
not something to re-implement) and never logs or returns a raw identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import phonenumbers

from purpose_lineage.errors import FingerprintSecretError

MIN_SECRET_BYTES = 16
KEY_CHECK_VALUE = "key-check@purpose-lineage.invalid"
TRIM_CHARS = " \t\r\n"

_HEX_HASH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")
_NON_DIGIT = re.compile(r"[^0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_REDACT = re.compile(
    r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+"  # emails
    r"|\b[0-9a-fA-F]{32,}\b"  # hex digests
    r"|\+?\(?\d[\d\s().\-/]{5,}\d"  # phone-like digit runs (7+ digits with separators)
)


class IdentifierKind(StrEnum):
    """What a source column holds."""

    PHONE = "phone"
    EMAIL = "email"


class KeyForm(StrEnum):
    """Which rendering of an identity a match key is."""

    PLAIN = "plain"  # email address, or phone digits with country code
    NATIONAL = "national"  # phone national significant number
    TRUNK = "trunk"  # national trunk prefix + national number, e.g. 020...
    SHA256 = "sha256"
    MD5 = "md5"


@dataclass(frozen=True)
class Fingerprint:
    """One row of a fingerprint table: no identifier, only keyed hashes."""

    fp: int
    identity: int
    kind: IdentifierKind
    form: KeyForm


def require_secret(secret: str | bytes | None) -> bytes:
    """The HMAC key as bytes; a missing or short secret fails closed.

    >>> require_secret("0123456789abcdef0123")[:4]
    b'0123'
    >>> require_secret(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    purpose_lineage.errors.FingerprintSecretError: no fingerprint secret given: ...
    """
    if secret is None or (isinstance(secret, str | bytes) and not secret.strip()):
        raise FingerprintSecretError(
            "no fingerprint secret given: configure the fingerprint secret (an Airflow connection "
            "or secrets backend entry) before building or checking fingerprints"
        )
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if len(key) < MIN_SECRET_BYTES:
        raise FingerprintSecretError(
            f"fingerprint secret too short: use at least {MIN_SECRET_BYTES} bytes of random data"
        )
    return key


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys, so SQL can compute the same HMAC.

    ``HMAC(k, m) = sha256(opad || sha256(ipad || m))`` (RFC 2104).

    >>> ipad, opad = hmac_pads(b"k" * 16)
    >>> len(ipad), len(opad), ipad[0] == ord("k") ^ 0x36
    (64, 64, True)
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def compact(digest: bytes) -> int:
    """The 64-bit compact form: first 8 bytes as an unsigned big-endian number, minus 2**63.

    The offset maps onto SQL ``BIGINT`` without overflow and is one expression in both
    DuckDB and PostgreSQL (see ``gx/fingerprints.py``).

    >>> compact(bytes.fromhex("ffffffffffffffff00"))
    9223372036854775807
    >>> compact(bytes.fromhex("0000000000000000ff"))
    -9223372036854775808
    """
    return int.from_bytes(digest[:8], "big") - (1 << 63)


def fingerprint(key: bytes, text: str) -> int:
    """64-bit keyed fingerprint of an already canonical string.

    >>> fingerprint(b"0123456789abcdef", "15550101234") == fingerprint(b"0123456789abcdef", "15550101234")
    True
    """
    return compact(hmac.digest(key, text.encode("utf-8"), "sha256"))


def normalize_email(value: str | None) -> str | None:
    """Trimmed, lower-cased address, or ``None`` if it is not shaped like one.

    >>> normalize_email("  Alice.Smith@Example.COM ")
    'alice.smith@example.com'
    >>> normalize_email("not an email") is None
    True
    """
    if value is None:
        return None
    text = str(value).strip(TRIM_CHARS).lower()
    return text if _EMAIL.fullmatch(text) else None


def normalize_phone(value: str | None, default_region: str = "US") -> str | None:
    """E.164 form of a phone number in any common format, or ``None`` if it is not one.

    Numbers without a ``+`` country code are read in ``default_region``.

    >>> normalize_phone("+1 (555) 010-1234")
    '+15550101234'
    >>> normalize_phone("020 7946 0958", "GB")
    '+442079460958'
    >>> normalize_phone("hello") is None
    True
    """
    if value is None:
        return None
    text = str(value).strip(TRIM_CHARS)
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize(kind: IdentifierKind | str, value: str | None, default_region: str = "US") -> str | None:
    """Canonical identity of ``value`` for its kind (see module docstring).

    >>> normalize("email", " A@B.org")
    'a@b.org'
    """
    if IdentifierKind(kind) is IdentifierKind.EMAIL:
        return normalize_email(value)
    return normalize_phone(value, default_region)


@cache
def country_prefixes() -> dict[str, str | None]:
    """Every country calling code with its main region's national trunk prefix (``None`` if none).

    >>> country_prefixes()["44"], country_prefixes()["39"]
    ('0', None)
    """
    result: dict[str, str | None] = {}
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        region = regions[0]
        if region == "001":
            metadata = phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
        else:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        result[str(code)] = metadata.national_prefix if metadata is not None else None
    return result


def _split_e164(e164: str) -> tuple[str, str] | None:
    digits = e164[1:]
    prefixes = country_prefixes()
    for size in (1, 2, 3):  # calling codes are prefix-free
        if digits[:size] in prefixes:
            return digits[:size], digits[size:]
    return None


def match_keys(kind: IdentifierKind | str, identity: str) -> tuple[tuple[KeyForm, str], ...]:
    """Every canonical sink string that denotes ``identity``, with its form.

    >>> [k for _, k in match_keys("phone", "+442079460958")][:3]
    ['442079460958', '2079460958', '02079460958']
    >>> [f.value for f, _ in match_keys("email", "a@b.org")]
    ['plain', 'sha256', 'md5']
    """
    keys: list[tuple[KeyForm, str]] = []
    if IdentifierKind(kind) is IdentifierKind.EMAIL:
        keys.append((KeyForm.PLAIN, identity))
        hashed: tuple[str, ...] = (identity,)
    else:
        digits = identity[1:]
        keys.append((KeyForm.PLAIN, digits))
        split = _split_e164(identity)
        if split is not None:
            code, national = split
            keys.append((KeyForm.NATIONAL, national))
            trunk = country_prefixes()[code]
            if trunk:
                keys.append((KeyForm.TRUNK, trunk + national))
        hashed = (identity, digits)
    keys += [(KeyForm.SHA256, hashlib.sha256(h.encode()).hexdigest()) for h in hashed]
    keys += [(KeyForm.MD5, hashlib.md5(h.encode(), usedforsecurity=False).hexdigest()) for h in hashed]
    seen: set[str] = set()
    return tuple((f, k) for f, k in keys if not (k in seen or seen.add(k)))


def sink_key(value: str | None) -> str | None:
    """Canonical form of a sink value, the string its fingerprint is computed from.

    A 32/64-character hex string is a hashed upload (lower-cased); anything with
    an ``@`` an email (trimmed, lower-cased); anything else is read as a phone
    number: its digits, without a leading ``00`` international prefix.
    ``PURPOSE_LINEAGE_FP`` in the warehouse implements exactly this.

    >>> sink_key("+1 (555) 010-1234"), sink_key(" Bob@X.org"), sink_key("0044 20 7946 0958")
    ('15550101234', 'bob@x.org', '442079460958')
    >>> sink_key("D41D8CD98F00B204E9800998ECF8427E")
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    if value is None:
        return None
    trimmed = str(value).strip(TRIM_CHARS).lower()
    if _HEX_HASH.fullmatch(trimmed) or "@" in trimmed:
        return trimmed
    digits = _NON_DIGIT.sub("", str(value))
    if digits.startswith("00"):
        digits = digits[2:]
    return digits or None


def fingerprints_of(key: bytes, kind: IdentifierKind | str, identity: str) -> tuple[Fingerprint, ...]:
    """Fingerprint rows for one canonical identity.

    >>> rows = fingerprints_of(b"0123456789abcdef", "email", "a@b.org")
    >>> len(rows), len({r.identity for r in rows})
    (3, 1)
    """
    kind = IdentifierKind(kind)
    ident = fingerprint(key, identity)
    keys = match_keys(kind, identity)
    return tuple(Fingerprint(fingerprint(key, k), ident, kind, form) for form, k in keys)


def sink_fingerprint(key: bytes, value: str | None) -> int | None:
    """Fingerprint of a raw sink value, as the warehouse computes it.

    >>> k = b"0123456789abcdef"
    >>> sink_fingerprint(k, "(555) 010-1234") in {r.fp for r in fingerprints_of(k, "phone", "+15550101234")}
    True
    """
    canonical = sink_key(value)
    return None if canonical is None else fingerprint(key, canonical)


def key_check(key: bytes) -> int:
    """Fingerprint of a fixed canary: proves a table was built with the same secret.

    >>> key_check(b"0123456789abcdef") == key_check(b"0123456789abcdef")
    True
    """
    return fingerprint(key, KEY_CHECK_VALUE)


def distinct_identities(rows: Iterable[Fingerprint]) -> int:
    """Number of identities among fingerprint rows.

    >>> distinct_identities(fingerprints_of(b"0123456789abcdef", "email", "a@b.org"))
    1
    """
    return len({r.identity for r in rows})


def redact_identifiers(text: str) -> str:
    """``text`` with anything shaped like an email, phone number or hex digest replaced.

    For error messages from databases and libraries, which may quote a value.

    >>> redact_identifiers("bad value '+1 (555) 010-1234' / Bob@X.org / " + "ab" * 16)
    "bad value '[redacted]' / [redacted] / [redacted]"
    """
    return _REDACT.sub("[redacted]", text)
