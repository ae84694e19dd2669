"""The test data's raw identifiers in every form a leak could take, and a scanner for them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path


def variants(phones: Iterable[str], emails: Iterable[str]) -> set[str]:
    """E.164, bare digits, national (US) format, and sha256/md5 of the normalised values."""
    out: set[str] = set()
    for phone in phones:
        digits = re.sub(r"\D", "", phone)
        national = digits[-10:]
        forms = {phone, digits, national, f"({national[:3]}) {national[3:6]}-{national[6:]}"}
        out |= forms
        out |= {hashlib.sha256(phone.encode()).hexdigest(), hashlib.md5(phone.encode()).hexdigest()}
    for email in emails:
        norm = email.strip().lower()
        out |= {norm, hashlib.sha256(norm.encode()).hexdigest(), hashlib.md5(norm.encode()).hexdigest()}
    return {v for v in out if len(v) >= 10}


def warehouse_identifiers(warehouse: Path) -> set[str]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        phones = [r[0] for r in con.execute("SELECT phone_number FROM users_2fa").fetchall()]
        emails = [
            r[0]
            for r in con.execute(
                "SELECT recovery_email FROM users_2fa WHERE recovery_email IS NOT NULL "
                "UNION SELECT login_email FROM users UNION SELECT email FROM marketing_contacts"
            ).fetchall()
        ]
    return variants(phones, emails)


def scan(texts: dict[str, str], needles: set[str]) -> list[tuple[str, str]]:
    """(where, needle) for every needle found; the needle is reported masked."""
    hits = []
    pattern = re.compile("|".join(sorted((re.escape(n) for n in needles), key=len, reverse=True)))
    for where, text in texts.items():
        for match in pattern.finditer(text):
            value = match.group(0)
            hits.append((where, value[:3] + "***"))
    return hits


def read_tree(root: Path) -> dict[str, str]:
    """Every text file below ``root`` (binary files are read leniently)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and path.stat().st_size < 50_000_000
            and path.suffix not in {".duckdb", ".db", ".wal"}
        ):
            out[str(path)] = path.read_text(errors="replace")
    return out


def duckdb_text(db: Path) -> str:
    """All text of all tables of a DuckDB file (the lineage store)."""
    import duckdb

    parts = []
    with duckdb.connect(str(db), read_only=True) as con:
        for schema, table in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall():
            rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            parts.append("\n".join(" ".join(str(c) for c in row) for row in rows))
    return "\n".join(parts)
