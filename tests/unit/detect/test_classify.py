"""Column verdicts from hand-written samples: each rule, each hard negative."""

from __future__ import annotations

import hashlib

import pytest

from purpose_lineage.detect.classify import classify_column
from purpose_lineage.detect.model import ColumnSample, DetectedClass
from purpose_lineage.detect.patterns import is_email_candidate, is_hex_candidate, is_phone_candidate


def sample(column: str, values: list[str | None], limit: int = 100) -> ColumnSample:
    """What a warehouse would return for these values (the Python prefilter)."""
    present = [v for v in values if v is not None]
    phones = [v for v in present if is_phone_candidate(v)]
    emails = [v for v in present if is_email_candidate(v)]
    hexes = [v for v in present if is_hex_candidate(v)]
    return ColumnSample(
        table="main.t",
        column=column,
        rows=len(values),
        nonnull=len(present),
        phone=len(phones),
        email=len(emails),
        hex=len(hexes),
        phone_values=phones[:limit],
        email_values=emails[:limit],
        hex_values=hexes[:limit],
    )


US_FORMATTED = [f"({[415, 212, 617, 303, 720][i % 5]}) {234 + i}-{i * 37:04d}" for i in range(40)]


def classify(column: str, values: list, **kw) -> DetectedClass:
    return classify_column(sample(column, values), **kw).detected


def test_formatted_national_phones_with_a_neutral_name():
    assert classify("c1", US_FORMATTED) is DetectedClass.PHONE


def test_e164_phones_of_many_countries():
    values = [
        "+14155552671",
        "+447911123456",
        "+33612345678",
        "+4915123456789",
        "+819012345678",
        "+5511912345678",
        "+919876543210",
        "+8613812345678",
        "+61412345678",
        "+27821234567",
    ] * 4
    f = classify_column(sample("x", values))
    assert f.detected is DetectedClass.PHONE
    assert f.valid == f.validated == 32  # clear after 32 values: validation stops early


def test_extensions_vanity_and_toll_free():
    values = [
        "1-800-FLOWERS",
        "+1 800 356 9377",
        "(415) 555-2671 ext. 12",
        "415.555.2671 x7",
        "0800 123 4567",
        "+44 800 123 4567",
    ] * 6
    assert classify("support_line", values) is DetectedClass.PHONE


def test_noisy_phone_column_still_detected():
    values = US_FORMATTED + ["n/a", "", "unknown", "-", "000-000-0000", None, None]
    f = classify_column(sample("contact", values))
    assert f.detected is DetectedClass.PHONE
    assert 0.5 < f.fraction < 1.0


def test_email_plain_and_display_name():
    values = [f"user{i}@mail.example.org" for i in range(20)]
    values += [f'"Doe, J{i}" <j{i}@corp.example.co.uk>' for i in range(20)]
    f = classify_column(sample("addr", values))
    assert f.detected is DetectedClass.EMAIL
    assert f.examples[0] == "u***@m***.org"


@pytest.mark.parametrize(
    "column,values",
    [
        ("notes", [f"Please write to user{i}@example.org about order {i}" for i in range(40)]),
        ("order_ref", [str(4155550000 + 13 * i) for i in range(40)]),
        ("c", [f"2023-{m:02d}-{d:02d}" for m in range(1, 13) for d in (3, 14, 27)]),
        ("c", [str(1_600_000_000 + 86_400 * i) for i in range(40)]),
        ("c", ["4111 1111 1111 1111", "5500 0000 0000 0004", "3400 0000 0000 009", "4012888888881881"] * 10),
        ("c", [f"10.0.{i}.{i * 3 % 255}" for i in range(40)]),
        ("c", [f"{90000 + i * 37}-{i * 91 % 10000:04d}" for i in range(40)]),
        ("c", ["550E8400-E29B-41D4-A716-446655440000"] * 40),
    ],
    ids=["free-text", "sequential-ids", "dates", "epochs", "cards", "ips", "zip4", "uuid-upper"],
)
def test_hard_negatives(column, values):
    assert classify(column, values) is DetectedClass.NONE


def test_random_digits_are_not_phones_even_where_random_digits_validate():
    import random

    rng = random.Random(3)
    values = [str(rng.randint(10**9, 10**10 - 1)) for _ in range(80)]
    assert classify("ref", values) is DetectedClass.NONE


def test_digit_only_phones_in_a_specific_plan():
    import random

    import phonenumbers

    rng = random.Random(5)
    values: list[str] = []
    while len(values) < 60:
        s = f"{rng.choice([415, 212, 617, 303, 720, 312, 213])}{rng.randint(2000000, 9999999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(s, "US")):
            values.append(s)
    assert classify("c", values) is DetectedClass.PHONE


def test_hashes_need_confirmation_or_an_identifier_name():
    digests = [hashlib.sha256(f"user{i}@example.org".encode()).hexdigest() for i in range(40)]
    assert classify("h", digests) is DetectedClass.NONE
    assert classify("email_sha256", digests) is DetectedClass.HASHED_IDENTIFIER
    assert classify("content_sha256", digests) is DetectedClass.NONE
    known = set(digests)
    confirmed = classify_column(sample("h", digests), confirm_hashes=lambda vs: all(v in known for v in vs))
    assert confirmed.detected is DetectedClass.HASHED_IDENTIFIER
    assert confirmed.confidence > 0.9


def test_git_shas_and_uuid_hex_are_not_hashed_identifiers():
    shas = [hashlib.sha1(f"commit {i}".encode()).hexdigest() for i in range(40)]
    assert classify("user_hash", shas) is DetectedClass.NONE  # sha1 length only counts when confirmed
    import uuid

    uuids = [uuid.UUID(int=i * 7919 + 1, version=4).hex for i in range(40)]
    assert classify("user_md5", uuids) is DetectedClass.NONE


def test_failing_hook_counts_as_unconfirmed():
    digests = [hashlib.md5(f"{i}".encode()).hexdigest() for i in range(40)]

    def boom(values):
        raise RuntimeError("fingerprint store down")

    assert classify("h", digests, confirm_hashes=boom) is DetectedClass.NONE


def test_findings_never_hold_raw_values():
    values = ["+1 415-555-2671", "user@example.org"]
    f = classify_column(sample("c", [values[0]] * 20))
    text = repr(f) + str(f.to_dict())
    assert "555-2671" not in text and "4155552671" not in text
    assert "555" not in repr(sample("c", values))


def test_empty_column():
    f = classify_column(sample("c", [None, None]))
    assert f.detected is DetectedClass.NONE and f.reason == "no values"


def test_validation_stops_early_only_when_the_verdict_is_clear():
    from purpose_lineage.detect.emails import validate_emails
    from purpose_lineage.detect.phones import validate_phones

    good = [f"user{i}@mail.example.org" for i in range(100)]
    assert validate_emails(good).validated == 32
    mixed = [v for i in range(50) for v in (f"user{i}@mail.example.org", f"user{i}@@bad")]
    assert validate_emails(mixed).validated == 100
    phones = [f"+1 415 555 {i:04d}" if i % 2 else "+1 000" for i in range(80)]
    verdict = validate_phones(phones)
    assert verdict.validated == 80 and 0.4 < verdict.valid_share < 0.6


@pytest.mark.parametrize(
    "shape",
    ["{3}-{3}-{4}", "{4} {3} {3}", "{2} {2} {2} {2} {2}", "{3}.{3}.{4}", "({3}) {3}-{4}", "{5}-{6}", "{9}"]
    + ["{11}", "{4}-{4}", "{3} {3} {3}"],
)
@pytest.mark.parametrize("column", ["ref", "phone"])
def test_random_digits_written_like_phone_numbers_are_not_phones(shape, column):
    """In lax plans (80% of random German numbers are valid) validity and grouping alone
    prove nothing: the valid share must beat what random digits of those shapes reach."""
    import random
    import re

    rng = random.Random(f"{shape}:{column}")

    def fill(m: re.Match) -> str:
        k = int(m.group(1))
        return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(k - 1))

    values = [re.sub(r"\{(\d+)\}", fill, shape) for _ in range(150)]
    assert classify(column, values) is DetectedClass.NONE
