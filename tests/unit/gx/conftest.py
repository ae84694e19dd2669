"""A small warehouse with security-only, marketing-consented and discoverable identifiers.

All phone numbers are in the fictional 555-01xx range; all emails are @example.com/.org.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from purpose_lineage.gx.fingerprints import IdentifierSource, build_fingerprint_table

SECRET = "test-fingerprint-secret-0001"
PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/pl_gx"

# user_id, 2FA phone as stored (mixed formats), E.164
TWO_FACTOR = [
    (1, "+15550101001", "+15550101001"),
    (2, "(555) 010-1002", "+15550101002"),
    (3, "+1 555 010 1003", "+15550101003"),
    (4, "+44 20 7946 0958", "+442079460958"),
    (5, "+15550101005", "+15550101005"),  # also given for marketing, with consent
]
# user_id, recovery email as stored, normalised
RECOVERY = [
    (1, "Alice.TwoFactor@Example.com", "alice.twofactor@example.com"),
    (2, " bob.2fa@example.org", "bob.2fa@example.org"),
    (6, "carol.recovery@example.com", "carol.recovery@example.com"),
    (7, "dave.both@example.com", "dave.both@example.com"),  # also given for marketing, with consent
]
# user_id, phone, email, consent
MARKETING = [
    (5, "555-010-1005", None, True),
    (7, None, "Dave.Both@example.com", True),
    (8, "+15550102008", "erin.marketing@example.com", True),
    (9, "+15550102009", "frank.noconsent@example.com", False),
    (4, "+15550109999", None, True),
    (12, "+1 555 010 1001", None, True),  # user 1's 2FA phone, consented by someone else: stays
]
# discovery opt-in: user_id, phone, opted_in
DISCOVERY = [
    (8, "+15550102008", True),
    (10, "+15550103010", True),
    (11, "+15550103011", False),
]
SECURITY_ONLY_PHONES = ["+15550101001", "+15550101002", "+15550101003", "+442079460958"]
SECURITY_ONLY_EMAILS = ["alice.twofactor@example.com", "bob.2fa@example.org", "carol.recovery@example.com"]
CONSENTED = ["+15550101005", "dave.both@example.com", "+15550102008", "erin.marketing@example.com"]


def all_identifier_strings() -> set[str]:
    """Every test identifier in every rendering a leak could take: raw, normalised, digits, hashes."""
    out: set[str] = set()
    raws = [r for _, r, _ in TWO_FACTOR] + [r for _, r, _ in RECOVERY]
    norms = [n for _, _, n in TWO_FACTOR] + [n for _, _, n in RECOVERY]
    raws += [p for _, p, _, _ in MARKETING if p] + [e for _, _, e, _ in MARKETING if e]
    raws += [p for _, p, _ in DISCOVERY]
    for value in raws + norms:
        out.add(value.strip())
        if "@" not in value:
            digits = "".join(c for c in value if c.isdigit())
            out.add(digits)
            out.add(digits[-10:])  # national form
    for value in norms + [p for _, p, _ in DISCOVERY]:
        for form in (value, value.lstrip("+")):
            out.add(hashlib.sha256(form.encode()).hexdigest())
            out.add(hashlib.md5(form.encode()).hexdigest())
    return out


def assert_no_identifiers(text: str, where: str) -> None:
    lowered = text.lower()
    leaked = sorted(s for s in all_identifier_strings() if s.lower() in lowered)
    assert not leaked, f"identifier material in {where}: {len(leaked)} strings"


@dataclass
class Warehouse:
    url: str
    engine: sa.Engine
    schema: str | None

    def t(self, name: str) -> str:
        return f"{self.schema}.{name}" if self.schema else name

    def execute(self, *statements: str) -> None:
        with self.engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)

    def load(self, name: str, columns: str, rows: list[tuple]) -> None:
        cols = [c.split()[0] for c in columns.split(",")]
        self.execute(f"DROP TABLE IF EXISTS {self.t(name)}", f"CREATE TABLE {self.t(name)} ({columns})")
        if rows:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.text(f"INSERT INTO {self.t(name)} VALUES ({', '.join(':' + c for c in cols)})"),
                    [dict(zip(cols, r, strict=True)) for r in rows],
                )

    def scalar(self, sql: str):
        with self.engine.connect() as connection:
            return connection.exec_driver_sql(sql).scalar()


def populate(wh: Warehouse) -> None:
    wh.load("users_2fa", "user_id INTEGER, phone VARCHAR", [(u, p) for u, p, _ in TWO_FACTOR])
    wh.load("recovery_emails", "user_id INTEGER, email VARCHAR", [(u, e) for u, e, _ in RECOVERY])
    wh.load("marketing_contacts", "user_id INTEGER, phone VARCHAR, email VARCHAR, consent BOOLEAN", MARKETING)
    wh.load("discovery_settings", "user_id INTEGER, phone VARCHAR, opted_in BOOLEAN", DISCOVERY)
    consented = f"SELECT * FROM {wh.t('marketing_contacts')} WHERE consent"
    build_fingerprint_table(
        wh.engine,
        table=wh.t("pl_security_fingerprints"),
        sources=[
            IdentifierSource(wh.t("users_2fa"), "phone", "phone", "user_id"),
            IdentifierSource(wh.t("recovery_emails"), "email", "email", "user_id"),
        ],
        exclude=[
            IdentifierSource(consented, "phone", "phone", "user_id"),
            IdentifierSource(consented, "email", "email", "user_id"),
        ],
        secret=SECRET,
    )
    build_fingerprint_table(
        wh.engine,
        table=wh.t("pl_consented_fingerprints"),
        sources=[
            IdentifierSource(
                f"SELECT * FROM {wh.t('discovery_settings')} WHERE opted_in", "phone", "phone", "user_id"
            )
        ],
        secret=SECRET,
    )


@pytest.fixture
def duck(tmp_path: Path) -> Warehouse:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    engine = sa.create_engine(url)
    wh = Warehouse(url, engine, None)
    populate(wh)
    yield wh
    engine.dispose()


@pytest.fixture
def pg() -> Warehouse:
    try:
        engine = sa.create_engine(PG_URL)
        engine.connect().close()
    except sa.exc.OperationalError as exc:  # pragma: no cover - the machine has PostgreSQL
        pytest.fail(f"PostgreSQL at {PG_URL} is required: {exc}")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    wh = Warehouse(PG_URL, engine, schema)
    wh.execute(f"CREATE SCHEMA {schema}")
    populate(wh)
    yield wh
    wh.execute(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()
