from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from purpose_lineage.core import fingerprint as core
from purpose_lineage.errors import DataCheckError, FingerprintSecretError
from purpose_lineage.gx import fingerprints as fpm
from purpose_lineage.gx.fingerprints import IdentifierSource, build_fingerprint_table

from .conftest import (
    CONSENTED,
    SECRET,
    SECURITY_ONLY_EMAILS,
    SECURITY_ONLY_PHONES,
    assert_no_identifiers,
)

KEY = core.require_secret(SECRET)

# sink renderings the warehouse function must canonicalise exactly as core.sink_key does
CORPUS = [
    "+1 (555) 010-1001",
    "15550101001",
    "(555) 010-1001",
    "555.010.1001",
    "0015550101001",
    " +1-555-010-1001\t",
    "+44 20 7946 0958",
    "020 7946 0958",
    "2079460958",
    "Alice.TwoFactor@Example.com ",
    "bob.2fa@example.org",
    hashlib.sha256(b"+15550101001").hexdigest(),
    hashlib.sha256(b"+15550101001").hexdigest().upper(),
    hashlib.md5(b"15550101002").hexdigest(),
    hashlib.md5(b"carol.recovery@example.com").hexdigest(),
    # white space around emails and digests (the fast paths skip trim() only without it)
    "\tbob.2fa@example.org\r\n",
    hashlib.md5(b"15550101002").hexdigest() + "\n",
    " " + hashlib.sha256(b"+15550101001").hexdigest().upper() + " ",
    " " * 16 + hashlib.md5(b"15550101002").hexdigest() + " " * 16,  # 64 characters, 32 of them hex
    "\r\n" + hashlib.md5(b"carol.recovery@example.com").hexdigest(),
    "x0y0z12",
    "0 0 1",
    "+0015550101234",
    "00",
    "100200",
    "a@b@c",
    "0",
    "0-0-",
    "000",
    "+00 ",
    "n/a",
    "",
    "   ",
    "+",
    "ünïcödé@exämple.com",
    "12345",
]


def expected_rows(identities):
    rows = set()
    for kind, value in identities:
        rows |= {
            (f.fp, f.identity, f.kind.value, f.form.value) for f in core.fingerprints_of(KEY, kind, value)
        }
    return rows


def security_expected():
    return expected_rows(
        [("phone", p) for p in SECURITY_ONLY_PHONES] + [("email", e) for e in SECURITY_ONLY_EMAILS]
    )


def table_rows(wh, name):
    with wh.engine.connect() as c:
        return set(
            map(tuple, c.exec_driver_sql(f"SELECT fp, identity, kind, form FROM {wh.t(name)}").fetchall())
        )


def dump_all(wh, name):
    with wh.engine.connect() as c:
        return repr(c.exec_driver_sql(f"SELECT * FROM {wh.t(name)}").fetchall())


class TestBuildDuckDB:
    def test_holds_exactly_the_security_only_identifiers(self, duck):
        assert table_rows(duck, "pl_security_fingerprints") == security_expected()

    def test_marketing_consented_identifiers_are_not_in_the_set(self, duck):
        identities = {r[1] for r in table_rows(duck, "pl_security_fingerprints")}
        for value in CONSENTED:
            assert core.fingerprint(KEY, value) not in identities

    def test_consent_by_another_user_does_not_remove(self, duck):
        # +15550101001 is user 1's 2FA phone; user 12 consented to it for marketing
        identities = {r[1] for r in table_rows(duck, "pl_security_fingerprints")}
        assert core.fingerprint(KEY, "+15550101001") in identities

    def test_consent_table(self, duck):
        assert table_rows(duck, "pl_consented_fingerprints") == expected_rows(
            [("phone", "+15550102008"), ("phone", "+15550103010")]
        )

    def test_meta_counts(self, duck):
        with duck.engine.connect() as c:
            meta = c.exec_driver_sql(
                "SELECT key_check, identities, fingerprints, excluded, rejected "
                "FROM pl_security_fingerprints_meta"
            ).one()
        assert meta == (core.key_check(KEY), 7, len(security_expected()), 2, 0)

    def test_never_stores_plain_identifiers(self, duck):
        for name in (
            "pl_security_fingerprints",
            "pl_security_fingerprints_meta",
            "pl_consented_fingerprints",
        ):
            assert_no_identifiers(dump_all(duck, name), name)
        with duck.engine.connect() as c:
            types = c.exec_driver_sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'pl_security_fingerprints' ORDER BY 1"
            ).fetchall()
            temps = c.exec_driver_sql(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_pl_%'"
            ).scalar()
        assert types == [("form", "VARCHAR"), ("fp", "BIGINT"), ("identity", "BIGINT"), ("kind", "VARCHAR")]
        assert temps == 0

    def test_report_counts(self, duck):
        duck.load("more_2fa", "user_id INTEGER, phone VARCHAR", [(20, "not a phone"), (21, "020 7946 0958")])
        report = build_fingerprint_table(
            duck.engine,
            table="fp2",
            sources=[IdentifierSource("more_2fa", "phone", "phone")],
            secret=SECRET,
            default_region="GB",
        )
        assert (report.identities, report.rejected, report.normalised_in_python, report.excluded) == (
            1,
            1,
            1,
            0,
        )
        assert table_rows(duck, "fp2") == expected_rows([("phone", "+442079460958")])

    def test_failed_refresh_leaves_previous_table(self, duck):
        before = table_rows(duck, "pl_security_fingerprints")
        with pytest.raises(DataCheckError, match="previous table is unchanged"):
            build_fingerprint_table(
                duck.engine, sources=[IdentifierSource("no_such_table", "phone", "phone")], secret=SECRET
            )
        assert table_rows(duck, "pl_security_fingerprints") == before

    @pytest.mark.parametrize("secret", [None, "", "short"])
    def test_missing_secret_fails_before_touching_the_warehouse(self, duck, secret):
        before = table_rows(duck, "pl_security_fingerprints")
        with pytest.raises(FingerprintSecretError):
            build_fingerprint_table(
                duck.engine, sources=[IdentifierSource("users_2fa", "phone", "phone")], secret=secret
            )
        assert table_rows(duck, "pl_security_fingerprints") == before

    def test_bad_identifiers_rejected(self, duck):
        with pytest.raises(DataCheckError, match="plain SQL identifier"):
            build_fingerprint_table(
                duck.engine, sources=[IdentifierSource("users_2fa", 'phone"; DROP', "phone")], secret=SECRET
            )

    def test_warehouse_function_agrees_with_core(self, duck):
        detach = fpm.attach_secret(duck.engine, SECRET)
        try:
            with duck.engine.connect() as c:
                got = [c.execute(sa.text("SELECT purpose_lineage_fp(:v)"), {"v": v}).scalar() for v in CORPUS]
        finally:
            detach()
        assert got == [core.sink_fingerprint(KEY, v) for v in CORPUS]

    def test_function_without_secret_raises(self, duck):
        with duck.engine.connect() as c, pytest.raises(sa.exc.DBAPIError, match="secret not set"):
            c.execute(sa.text("SELECT purpose_lineage_fp('+15550101001')")).scalar()

    def test_verify(self, duck):
        detach = fpm.attach_secret(duck.engine, SECRET)
        try:
            assert fpm.verify(duck.engine, SECRET) == 7
            with pytest.raises(FingerprintSecretError, match="different secret"):
                fpm.verify(duck.engine, SECRET + "x")
            with pytest.raises(DataCheckError, match="missing or unreadable"):
                fpm.verify(duck.engine, SECRET, "nope")
        finally:
            detach()


@pytest.mark.postgres
class TestBuildPostgres:
    def test_same_rows_as_core(self, pg):
        assert table_rows(pg, "pl_security_fingerprints") == security_expected()
        assert table_rows(pg, "pl_consented_fingerprints") == expected_rows(
            [("phone", "+15550102008"), ("phone", "+15550103010")]
        )

    def test_never_stores_plain_identifiers(self, pg):
        for name in (
            "pl_security_fingerprints",
            "pl_security_fingerprints_meta",
            "pl_consented_fingerprints",
        ):
            assert_no_identifiers(dump_all(pg, name), name)

    def test_warehouse_function_agrees_with_core(self, pg):
        detach = fpm.attach_secret(pg.engine, SECRET)
        fn = fpm.function_name(pg.t("pl_security_fingerprints"))
        try:
            with pg.engine.connect() as c:
                got = [c.execute(sa.text(f"SELECT {fn}(:v)"), {"v": v}).scalar() for v in CORPUS]
            assert fpm.verify(pg.engine, SECRET, pg.t("pl_security_fingerprints")) == 7
        finally:
            detach()
        assert got == [core.sink_fingerprint(KEY, v) for v in CORPUS]

    def test_function_without_secret_raises(self, pg):
        fn = fpm.function_name(pg.t("pl_security_fingerprints"))
        with pg.engine.connect() as c, pytest.raises(sa.exc.DBAPIError):
            c.execute(sa.text(f"SELECT {fn}('+15550101001')")).scalar()

    def test_function_with_cleared_secret_raises(self, pg):
        fn = fpm.function_name(pg.t("pl_security_fingerprints"))
        detach = fpm.attach_secret(pg.engine, SECRET)
        try:
            with pg.engine.connect() as c:
                c.exec_driver_sql("SELECT set_config('purpose_lineage.fp_ipad', '', false)")
                with pytest.raises(sa.exc.DBAPIError, match="fingerprint secret not set"):
                    c.execute(sa.text(f"SELECT {fn}('+15550101001')")).scalar()
        finally:
            detach()
