from __future__ import annotations

import hashlib
import hmac

import pytest

from purpose_lineage.core import fingerprint as fpm
from purpose_lineage.core.fingerprint import IdentifierKind, KeyForm
from purpose_lineage.errors import FingerprintSecretError, PurposeLineageError

KEY = b"test-secret-0123456789"
PHONE = "+15550101234"


class TestSecret:
    @pytest.mark.parametrize("secret", [None, "", "   ", b""])
    def test_missing_secret_fails_closed(self, secret):
        with pytest.raises(FingerprintSecretError, match="no fingerprint secret"):
            fpm.require_secret(secret)

    def test_short_secret_rejected(self):
        with pytest.raises(FingerprintSecretError, match="too short"):
            fpm.require_secret("short")

    def test_error_is_a_purpose_lineage_error(self):
        assert issubclass(FingerprintSecretError, PurposeLineageError)

    def test_str_and_bytes_agree(self):
        assert fpm.require_secret("test-secret-0123456789") == KEY


class TestHmac:
    def test_fingerprint_is_hmac_sha256_compacted(self):
        digest = hmac.new(KEY, b"15550101234", hashlib.sha256).digest()
        assert fpm.fingerprint(KEY, "15550101234") == int.from_bytes(digest[:8], "big") - 2**63

    def test_pads_reproduce_hmac(self):
        ipad, opad = fpm.hmac_pads(KEY)
        inner = hashlib.sha256(ipad + b"msg").digest()
        assert hashlib.sha256(opad + inner).digest() == hmac.new(KEY, b"msg", hashlib.sha256).digest()

    def test_long_key_is_hashed_first(self):
        key = b"k" * 100
        ipad, opad = fpm.hmac_pads(key)
        inner = hashlib.sha256(ipad + b"m").digest()
        assert hashlib.sha256(opad + inner).digest() == hmac.new(key, b"m", hashlib.sha256).digest()

    def test_different_secrets_differ(self):
        assert fpm.fingerprint(KEY, "x") != fpm.fingerprint(KEY + b"!", "x")

    def test_compact_range(self):
        assert fpm.compact(b"\x00" * 8) == -(2**63)
        assert fpm.compact(b"\xff" * 8) == 2**63 - 1


class TestNormalise:
    @pytest.mark.parametrize(
        "raw",
        [
            "+1 (555) 010-1234",
            "+15550101234",
            "(555) 010-1234",
            "555-010-1234",
            "555.010.1234",
            "1 555 010 1234",
            " +1-555-010-1234 ",
            "+1 555 0101234",
        ],
    )
    def test_phone_formats_to_e164(self, raw):
        assert fpm.normalize_phone(raw) == PHONE

    def test_phone_region(self):
        assert fpm.normalize_phone("020 7946 0958", "GB") == "+442079460958"
        assert fpm.normalize_phone("+44 20 7946 0958") == "+442079460958"

    @pytest.mark.parametrize("raw", ["hello", "", "12", None, "+"])
    def test_not_phones(self, raw):
        assert fpm.normalize_phone(raw) is None

    def test_email(self):
        assert fpm.normalize_email("  Alice.Smith@Example.COM\t") == "alice.smith@example.com"
        assert fpm.normalize_email("no-at-sign") is None
        assert fpm.normalize_email("a@b@c") is None
        assert fpm.normalize("email", "X@Y.org") == "x@y.org"
        assert fpm.normalize(IdentifierKind.PHONE, "(555) 010-1234") == PHONE


class TestMatchKeys:
    def test_us_phone_keys(self):
        plain = (KeyForm.SHA256, KeyForm.MD5)
        keys = dict((f, k) for f, k in fpm.match_keys("phone", PHONE) if f not in plain)
        assert keys == {KeyForm.PLAIN: "15550101234", KeyForm.NATIONAL: "5550101234"}  # US trunk "1" = plain
        hashed = [k for f, k in fpm.match_keys("phone", PHONE) if f in (KeyForm.SHA256, KeyForm.MD5)]
        assert hashed == [
            hashlib.sha256(b"+15550101234").hexdigest(),
            hashlib.sha256(b"15550101234").hexdigest(),
            hashlib.md5(b"+15550101234").hexdigest(),
            hashlib.md5(b"15550101234").hexdigest(),
        ]

    def test_uk_phone_has_trunk_form(self):
        keys = dict(fpm.match_keys("phone", "+442079460958")[:3])
        assert keys == {
            KeyForm.PLAIN: "442079460958",
            KeyForm.NATIONAL: "2079460958",
            KeyForm.TRUNK: "02079460958",
        }

    def test_italian_leading_zero_kept(self):
        keys = dict(fpm.match_keys("phone", "+390612345678")[:2])
        assert keys[KeyForm.NATIONAL] == "0612345678"

    def test_email_keys(self):
        assert fpm.match_keys("email", "a@b.org") == (
            (KeyForm.PLAIN, "a@b.org"),
            (KeyForm.SHA256, hashlib.sha256(b"a@b.org").hexdigest()),
            (KeyForm.MD5, hashlib.md5(b"a@b.org").hexdigest()),
        )


class TestSinkMatching:
    """Every way a sink can hold a security identifier maps onto one of its fingerprints."""

    @pytest.mark.parametrize(
        "sink_value",
        [
            "+1 (555) 010-1234",
            "15550101234",
            "(555) 010-1234",
            "555-010-1234",
            "0015550101234",
            "+1.555.010.1234",
            hashlib.sha256(b"+15550101234").hexdigest(),
            hashlib.sha256(b"+15550101234").hexdigest().upper(),
            hashlib.md5(b"+15550101234").hexdigest(),
            hashlib.sha256(b"15550101234").hexdigest(),
            " " + hashlib.md5(b"15550101234").hexdigest() + "\n",
        ],
    )
    def test_phone_renderings_match(self, sink_value):
        fps = {f.fp for f in fpm.fingerprints_of(KEY, "phone", PHONE)}
        assert fpm.sink_fingerprint(KEY, sink_value) in fps

    @pytest.mark.parametrize(
        "sink_value",
        [
            "alice@example.com",
            " Alice@Example.COM ",
            hashlib.sha256(b"alice@example.com").hexdigest(),
            hashlib.md5(b"alice@example.com").hexdigest().upper(),
        ],
    )
    def test_email_renderings_match(self, sink_value):
        fps = {f.fp for f in fpm.fingerprints_of(KEY, "email", "alice@example.com")}
        assert fpm.sink_fingerprint(KEY, sink_value) in fps

    @pytest.mark.parametrize(
        "sink_value",
        [
            "+1 (555) 010-1235",
            "bob@example.com",
            hashlib.sha256(b"+15550101235").hexdigest(),
            hashlib.sha256(b"Alice@example.com").hexdigest(),
        ],  # un-normalised hash: out of scope
    )
    def test_others_do_not_match(self, sink_value):
        fps = {f.fp for f in fpm.fingerprints_of(KEY, "phone", PHONE)}
        fps |= {f.fp for f in fpm.fingerprints_of(KEY, "email", "alice@example.com")}
        assert fpm.sink_fingerprint(KEY, sink_value) not in fps

    def test_identity_shared_by_all_forms(self):
        rows = fpm.fingerprints_of(KEY, "phone", PHONE)
        assert len(rows) == 6 and fpm.distinct_identities(rows) == 1
        assert rows[0].identity == fpm.fingerprint(KEY, PHONE)

    def test_empty_values(self):
        assert fpm.sink_key(None) is None and fpm.sink_key("  ") is None and fpm.sink_key("n/a") is None

    def test_fingerprints_hold_no_identifier(self):
        rows = fpm.fingerprints_of(KEY, "phone", PHONE)
        text = repr(rows)
        for needle in ("5550101234", "555-010", hashlib.sha256(b"+15550101234").hexdigest()[:12]):
            assert needle not in text
