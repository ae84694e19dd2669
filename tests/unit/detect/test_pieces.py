"""Small pieces: masking, hard-negative families, name hints, URL parsing, the package API."""

from __future__ import annotations

import subprocess
import sys

import pytest

from purpose_lineage.detect.hints import name_hint
from purpose_lineage.detect.mask import mask_email, mask_hex, mask_phone, scrub
from purpose_lineage.detect.negatives import family, is_sequential
from purpose_lineage.detect.warehouse import ColumnInfo, parse_url, redact_url


@pytest.mark.parametrize(
    "value,expected",
    [
        ("+14155552671", "+1 *** *** **71"),
        ("+33612345678", "+33 *** *** *78"),
        ("+4930123456", "+49 *** *** 56"),
        ("+447911123456", "+44 *** *** **56"),
        ("not a number", "+** *** ***"),
    ],
)
def test_mask_phone(value, expected):
    assert mask_phone(value) == expected


def test_mask_email_and_hex():
    assert mask_email("a@b") == "a***@b***"
    assert mask_email("josé.müller@münchen.de") == "j***@m***.de"
    assert mask_hex("ab" * 32) == "abab…(64 hex)"


def test_scrub_removes_identifier_shaped_text():
    text = scrub("value 'Ann <ann.lee@example.org>' and 0044 20 7946 0018, digest " + "ab" * 16)
    assert "ann.lee" not in text and "7946" not in text and "abab" not in text


@pytest.mark.parametrize(
    "value,fam",
    [
        ("192.168.0.1", "ip"),
        ("10.0.0.1:8080", "ip"),
        ("2001:db8::1", "ip"),
        ("550e8400-e29b-41d4-a716-446655440000", "uuid"),
        ("1699999999", "epoch"),
        ("1699999999123", "epoch"),
        ("2023-04-05", "date"),
        ("05.04.2023", "date"),
        ("04/05/2023", "date"),
        ("20230405", "date"),
        ("978-3-16-148410-0", "isbn"),
        ("4111 1111 1111 1111", "card"),
        ("378282246310005", "card"),
        ("90210-1234", "postal_code"),
        ("1234 AB", "postal_code"),
        ("1234567.89", "decimal"),
        ("+1 415 555 2671", None),
        ("(415) 555-2671", None),
        ("07911 123456", None),
    ],
)
def test_hard_negative_families(value, fam):
    assert family(value) == fam


def test_sequences():
    assert is_sequential([str(10_000_000 + i) for i in range(20)])
    assert not is_sequential([str(10_000_000 + i * 10_007) for i in range(20)])
    assert not is_sequential(["123"] * 20)  # one distinct value is not a sequence


@pytest.mark.parametrize(
    "name,phone,email,hashed_identifier,not_contact",
    [
        ("mobile_e164", True, False, False, False),
        ("Telefono", True, False, False, False),
        ("EmailAddress", False, True, False, False),
        ("hashed_email", False, True, True, False),
        ("user_hash", False, False, True, False),
        ("content_sha256", False, False, False, False),
        ("commit_sha", False, False, False, True),
        ("order_id", False, False, False, True),
    ],
)
def test_name_hints(name, phone, email, hashed_identifier, not_contact):
    h = name_hint(name)
    assert (h.phone, h.email, h.hashed_identifier, h.not_contact) == (
        phone,
        email,
        hashed_identifier,
        not_contact,
    )


@pytest.mark.parametrize(
    "dtype,scannable",
    [
        ("VARCHAR", True), ("character varying(255)", True), ("text", True), ("BIGINT", True),
        ("integer", True),
        ("numeric(15,0)", True), ("DECIMAL(18,0)", True), ("numeric", True), ("DECIMAL(10,2)", False),
        ("DATE", False), ("timestamp with time zone", False), ("DOUBLE", False), ("BLOB", False),
        ("boolean", False), ("UUID", False), ("smallint", False),
    ],
)  # fmt: skip
def test_scannable_types(dtype, scannable):
    assert ColumnInfo("c", dtype).scannable is scannable


def test_urls():
    assert parse_url("duckdb:///rel/w.duckdb").database == "rel/w.duckdb"
    assert redact_url("postgresql://ann@db/x") == "postgresql://ann@db/x"
    assert redact_url("postgresql://ann:p%40ss@db:5432/x") == "postgresql://ann:***@db:5432/x"


def test_package_import_is_cheap_and_lazy():
    code = (
        "import sys, purpose_lineage.detect as d; "
        "assert 'phonenumbers' not in sys.modules and 'duckdb' not in sys.modules; "
        "assert d.UNKNOWN_PURPOSE == 'unknown'; assert callable(d.scan); print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": ":".join(sys.path)}
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_shipped_random_validity_table_matches_measurement():
    import random

    from purpose_lineage.detect import phones

    table = phones._validity_table()
    for region in (*phones.DEFAULT_REGIONS, phones.INTL):
        assert f"{region}:10:0" in table
    rng = random.Random(3)
    for key in rng.sample(sorted(table), 12):
        region, n, zero = key.split(":")
        measured = phones.measure_random_validity(region, int(n), zero == "1")
        assert abs(measured - table[key]) <= 0.05, (
            f"{key}: table {table[key]}, measured {measured}; regenerate with phones.write_validity_table()"
        )
