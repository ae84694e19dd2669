"""Prefilter regular expressions, shared by DuckDB (RE2), PostgreSQL (ARE) and Python.

The prefilters are cheap and recall-oriented: they keep every value that *could* be a
phone number, an e-mail address or a hex digest, and let Python validation decide.
They are anchored (whole value) on purpose: free text that merely mentions an address
or a number never matches. The syntax is the common subset of RE2, PostgreSQL AREs and
Python ``re`` (bracket classes, ``{m,n}``, alternation; no lookaround, no ``\\d``), and a
test checks the three engines agree on the corpus.
"""

from __future__ import annotations

import re

#: A phone-like value: optional ``tel:``, ``+`` or ``(``, then digits, separators and
#: upper-case letters (vanity numbers), then an optional extension.
PHONE = (
    r"[ ]*([Tt][Ee][Ll]:)?[ ]*[+(]?[0-9][0-9A-Z ().\/-]{4,28}[0-9A-Z]"
    r"([ ]*([Ee][Xx][Tt][Nn]?\.?|[Xx]|#)[ ]*[0-9]{1,6})?[ ]*"
)
#: A whole value that is one address, bare or as ``Display Name <address>``.
EMAIL = (
    r"[ ]*([Mm][Aa][Ii][Ll][Tt][Oo]:)?[^@<> ]+@[^@<> ]+\.[^@<> .]{2,}[ ]*"
    r"|[^<>@]*<[^@<> ]+@[^@<> ]+\.[^@<> .]{2,}>[ ]*"
)
#: An md5, sha1 or sha256 hex digest.
HEX = r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}"

#: Cheap guards evaluated before each regex (the regex only runs where they hold).
PHONE_MIN_LEN, PHONE_MAX_LEN = 6, 48
EMAIL_MAX_LEN = 320
HEX_LENGTHS = (32, 40, 64)

_PHONE_RE = re.compile(PHONE)
_EMAIL_RE = re.compile(EMAIL)
_HEX_RE = re.compile(HEX)


def is_phone_candidate(value: str) -> bool:
    """The phone prefilter in Python.

    >>> is_phone_candidate("+1 (415) 555-2671 ext. 12"), is_phone_candidate("call me")
    (True, False)
    """
    return PHONE_MIN_LEN <= len(value) <= PHONE_MAX_LEN and _PHONE_RE.fullmatch(value) is not None


def is_email_candidate(value: str) -> bool:
    """The e-mail prefilter in Python.

    >>> is_email_candidate("Ann <ann@mail.example.org>"), is_email_candidate("write to ann@x.org")
    (True, False)
    """
    return "@" in value and len(value) <= EMAIL_MAX_LEN and _EMAIL_RE.fullmatch(value) is not None


def is_hex_candidate(value: str) -> bool:
    """The hex-digest prefilter in Python.

    >>> is_hex_candidate("d41d8cd98f00b204e9800998ecf8427e"), is_hex_candidate("d41d8cd9")
    (True, False)
    """
    return len(value) in HEX_LENGTHS and _HEX_RE.fullmatch(value) is not None


def duckdb_flags(expr: str) -> tuple[str, str, str]:
    """DuckDB boolean expressions (phone, email, hex) over the VARCHAR expression ``expr``.

    CASE makes DuckDB evaluate each regex only on rows that pass the cheap guard.
    """
    return (
        f"CASE WHEN length({expr}) BETWEEN {PHONE_MIN_LEN} AND {PHONE_MAX_LEN} "
        f"THEN regexp_full_match({expr}, {_sql_str(PHONE)}) ELSE false END",
        f"CASE WHEN length({expr}) <= {EMAIL_MAX_LEN} AND contains({expr}, '@') "
        f"THEN regexp_full_match({expr}, {_sql_str(EMAIL)}) ELSE false END",
        f"CASE WHEN length({expr}) IN {HEX_LENGTHS} "
        f"THEN regexp_full_match({expr}, {_sql_str(HEX)}) ELSE false END",
    )


def postgres_flags(expr: str) -> tuple[str, str, str]:
    """PostgreSQL boolean expressions (phone, email, hex) over the text expression ``expr``."""
    return (
        f"CASE WHEN length({expr}) BETWEEN {PHONE_MIN_LEN} AND {PHONE_MAX_LEN} "
        f"THEN {expr} ~ {_sql_str(_anchored(PHONE))} ELSE false END",
        f"CASE WHEN length({expr}) <= {EMAIL_MAX_LEN} AND strpos({expr}, '@') > 0 "
        f"THEN {expr} ~ {_sql_str(_anchored(EMAIL))} ELSE false END",
        f"CASE WHEN length({expr}) IN {HEX_LENGTHS} THEN {expr} ~ {_sql_str(_anchored(HEX))} ELSE false END",
    )


def _anchored(pattern: str) -> str:
    return f"^({pattern})$"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
