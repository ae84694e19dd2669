from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import great_expectations as gx
import pytest
import sqlalchemy as sa

from purpose_lineage.errors import DataCheckError, FingerprintSecretError, SuiteNotFoundError
from purpose_lineage.gx.run import (
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    RESULT_FORMAT,
    default_suites_dir,
    limit_duckdb_memory,
    run_suite,
)

from .conftest import CONSENTED, SECRET, assert_no_identifiers

PARAMS = {"identifier_columns": ["phone", "email"]}


def sha(v: str) -> str:
    return hashlib.sha256(v.encode()).hexdigest()


def md5(v: str) -> str:
    return hashlib.md5(v.encode()).hexdigest()


def audience(wh, rows, name="audience_staging"):
    wh.load(name, "phone VARCHAR, email VARCHAR, segment VARCHAR", rows)
    return wh.t(name)


def run(wh, table, tmp_path, suite="ad_audience", **kw):
    kw.setdefault("params", PARAMS)
    kw.setdefault("secret", SECRET)
    # the fixture's pooled DuckDB connections would keep the file open with other settings, and
    # the check would fall back from native to SQL fingerprints (tested in test_native_fingerprints)
    wh.engine.dispose()
    return run_suite(suite, table=table, warehouse_url=wh.url, data_docs_dir=tmp_path / "docs", **kw)


def data_docs_text(tmp_path):
    return "\n".join(p.read_text(errors="replace") for p in (tmp_path / "docs").rglob("*.html"))


class TestAdAudience:
    def test_hashed_two_factor_emails_in_manual_upload_fail_on_data_alone(
        self, duck, tmp_path, caplog, capsys
    ):
        """A manually loaded audience: no lineage exists, only the data check can catch it."""
        caplog.set_level(logging.DEBUG)
        table = audience(
            duck,
            [
                (None, sha("alice.twofactor@example.com"), "upload"),
                (None, sha("bob.2fa@example.org").upper(), "upload"),
                (None, md5("carol.recovery@example.com"), "upload"),
                (None, sha("alice.twofactor@example.com"), "dup"),
                (None, sha("someone.else@example.com"), "upload"),
            ],
        )
        result = run(duck, table, tmp_path)
        assert not result.passed
        assert result.affected_count == 3
        (check,) = [d for d in result.details if d.expectation == "expect_no_security_only_identifiers"]
        assert (check.success, check.observed_value, check.details["affected_identifiers"]) == (False, 3, 3)
        assert result.data_docs_path and result.data_docs_path.endswith(".html")
        # the validation's own page, built after the verdict and timed apart from it
        assert Path(result.data_docs_path).is_file() and "validations" in result.data_docs_path
        assert set(result.timings) == {"check", "data_docs"} and min(result.timings.values()) > 0
        # nothing identifying anywhere: result, Data Docs, logs, stdout/stderr
        out = capsys.readouterr()
        for text, where in [
            (repr(result), "result"),
            (data_docs_text(tmp_path), "Data Docs"),
            (caplog.text, "logs"),
            (out.out + out.err, "output"),
        ]:
            assert_no_identifiers(text, where)
        assert "3" in data_docs_text(tmp_path)

    def test_plain_phone_formats_match(self, duck, tmp_path):
        table = audience(
            duck,
            [
                ("+1 (555) 010-1001", None, "a"),
                ("555.010.1001", None, "a"),
                ("15550101001", None, "a"),
                ("(555) 010-1002", None, "b"),
                ("0044 20 7946 0958", None, "c"),
                ("020 7946 0958", None, "c"),
                ("+1 (555) 010-4444", None, "not security"),
                (None, None, "empty"),
                ("", None, "empty"),
            ],
        )
        result = run(duck, table, tmp_path)
        assert (result.passed, result.affected_count) == (False, 3)

    def test_md5_and_sha256_phone_uploads_match(self, duck, tmp_path):
        table = audience(
            duck,
            [
                (sha("+15550101001"), None, "google style"),
                (sha("15550101002"), None, "meta style"),
                (md5("+15550101003"), None, "md5"),
                (md5("442079460958").upper(), None, "md5 upper"),
                (sha("+15550104444"), None, "not security"),
            ],
        )
        result = run(duck, table, tmp_path)
        assert (result.passed, result.affected_count) == (False, 4)

    def test_marketing_consented_contacts_pass(self, duck, tmp_path):
        rows = [(v, None, "consented") if v.startswith("+") else (None, v, "consented") for v in CONSENTED]
        rows += [(None, sha("erin.marketing@example.com"), "hashed"), ("555 010 1005", None, "formatted")]
        result = run(duck, audience(duck, rows), tmp_path)
        assert result.passed and result.affected_count == 0
        assert all(d.success for d in result.details)

    def test_mixed_columns_count_distinct_identities(self, duck, tmp_path):
        table = audience(
            duck,
            [
                ("+15550101001", "alice.twofactor@example.com", "x"),
                ("(555) 010-1001", sha("alice.twofactor@example.com"), "y"),
                (md5("+15550101001"), None, "z"),
            ],
        )
        result = run(duck, table, tmp_path)
        assert result.affected_count == 2  # one phone, one email, however often and however written

    def test_numeric_phone_column_matches(self, duck, tmp_path):
        duck.load(
            "numeric_audience", "phone BIGINT, email VARCHAR", [(15550101002, None), (15550104444, None)]
        )
        result = run(duck, "numeric_audience", tmp_path)
        assert (result.passed, result.affected_count) == (False, 1)

    def test_empty_audience_passes(self, duck, tmp_path):
        assert run(duck, audience(duck, []), tmp_path).passed


class TestPhoneLookup:
    def test_lookup_without_consent_filter_fails(self, duck, tmp_path):
        duck.execute("CREATE TABLE phone_lookup_staging AS SELECT phone, user_id FROM discovery_settings")
        result = run(
            duck,
            "phone_lookup_staging",
            tmp_path,
            suite="phone_lookup",
            params={"identifier_columns": ["phone"]},
        )
        assert (result.passed, result.affected_count) == (False, 1)
        assert result.details[0].details == {
            "identifiers_without_consent": 1,
            "columns": ["phone"],
            "consent_table": "pl_consented_fingerprints",
        }

    def test_lookup_with_consent_filter_passes(self, duck, tmp_path):
        duck.execute(
            "CREATE TABLE phone_lookup_staging AS "
            "SELECT '(' || substr(phone, 3, 3) || ') ' || substr(phone, 6, 3) || '-' || substr(phone, 9) "
            "AS phone, user_id FROM discovery_settings WHERE opted_in"
        )
        result = run(
            duck,
            "phone_lookup_staging",
            tmp_path,
            suite="phone_lookup",
            params={"identifier_columns": ["phone"]},
        )
        assert result.passed and result.affected_count == 0


class TestFailClosed:
    def test_missing_suite(self, duck, tmp_path):
        with pytest.raises(SuiteNotFoundError, match="'no_such_sink' not found.*ad_audience"):
            run(duck, audience(duck, []), tmp_path, suite="no_such_sink")

    @pytest.mark.parametrize("secret", [None, ""])
    def test_missing_secret(self, duck, tmp_path, secret):
        with pytest.raises(FingerprintSecretError, match="no fingerprint secret"):
            run(duck, audience(duck, []), tmp_path, secret=secret)

    def test_wrong_secret(self, duck, tmp_path):
        with pytest.raises(FingerprintSecretError, match="different secret"):
            run(duck, audience(duck, []), tmp_path, secret=SECRET + "-rotated")

    def test_missing_fingerprint_table(self, duck, tmp_path):
        duck.execute("DROP TABLE pl_security_fingerprints_meta")
        with pytest.raises(DataCheckError, match="missing or unreadable; build it first"):
            run(duck, audience(duck, []), tmp_path)

    def test_missing_parameter(self, duck, tmp_path):
        with pytest.raises(DataCheckError, match="needs parameter 'identifier_columns'"):
            run(duck, audience(duck, []), tmp_path, params={})

    def test_gx_error_is_raised_without_values(self, duck, tmp_path):
        table = audience(duck, [("+15550101001", None, "x")])
        with pytest.raises(DataCheckError, match="could not run") as info:
            run(duck, table, tmp_path, params={"identifier_columns": ["no_such_column"]})
        assert_no_identifiers(str(info.value), "error")

    def test_missing_table(self, duck, tmp_path):
        with pytest.raises(DataCheckError, match="could not run"):
            run(duck, "no_such_table", tmp_path)

    def test_unsupported_warehouse(self, tmp_path):
        with pytest.raises(DataCheckError, match="DuckDB or PostgreSQL"):
            run_suite(
                "ad_audience",
                table="t",
                warehouse_url=f"sqlite:///{tmp_path / 'x.db'}",
                params=PARAMS,
                secret=SECRET,
            )

    def test_injection_in_column_name_rejected(self, duck, tmp_path):
        with pytest.raises(DataCheckError):
            run(duck, audience(duck, []), tmp_path, params={"identifier_columns": ['phone") --']})


class TestSuites:
    def test_suites_are_loadable_by_a_file_data_context(self, tmp_path):
        import purpose_lineage.gx

        purpose_lineage.gx.register()
        root = tmp_path / "project"
        context = gx.get_context(mode="file", project_root_dir=root)
        for path in default_suites_dir().glob("*.json"):
            shutil.copy(path, root / "gx" / "expectations" / path.name)
        reopened = gx.get_context(mode="file", project_root_dir=root)
        names = {s.name for s in reopened.suites.all()}
        assert {"ad_audience", "phone_lookup"} <= names
        suite = reopened.suites.get("ad_audience")
        by_type = {e.expectation_type: e for e in suite.expectations}
        assert by_type["expect_no_forbidden_purpose_flows"].run_key == {"$PARAMETER": "run_key"}
        assert by_type["expect_no_security_only_identifiers"].columns == {"$PARAMETER": "identifier_columns"}
        del context

    def test_suite_files_are_plain_json_data(self):
        for path in default_suites_dir().glob("*.json"):
            data = json.loads(path.read_text())
            assert data["name"] == path.stem
            for expectation in data["expectations"]:
                assert "unexpected_rows_query" not in expectation["kwargs"]  # derived, never stored

    def test_result_format_never_returns_values(self):
        assert RESULT_FORMAT["partial_unexpected_count"] == 0 and not RESULT_FORMAT["include_unexpected_rows"]


@pytest.mark.postgres
def _security(suite: dict) -> dict:
    return next(e for e in suite["expectations"] if e["type"] == "expect_no_security_only_identifiers")


class TestPostgres:
    def test_hashed_and_formatted_identifiers_fail(self, pg, tmp_path, caplog):
        caplog.set_level(logging.DEBUG)
        table = audience(
            pg,
            [
                (None, sha("alice.twofactor@example.com"), "upload"),
                ("(555) 010-1002", None, "x"),
                (md5("+15550101003"), None, "y"),
                ("+15550102008", "erin.marketing@example.com", "consented"),
            ],
        )
        suites = tmp_path / "suites"
        suites.mkdir()
        data = json.loads((default_suites_dir() / "ad_audience.json").read_text())
        _security(data)["kwargs"]["fingerprint_table"] = pg.t("pl_security_fingerprints")
        (suites / "ad_audience.json").write_text(json.dumps(data))
        result = run(pg, table, tmp_path, suites_dir=suites)
        assert (result.passed, result.affected_count) == (False, 3)
        assert_no_identifiers(repr(result) + data_docs_text(tmp_path) + caplog.text, "postgres run")

    def test_consented_pass(self, pg, tmp_path):
        suites = tmp_path / "suites"
        suites.mkdir()
        data = json.loads((default_suites_dir() / "ad_audience.json").read_text())
        _security(data)["kwargs"]["fingerprint_table"] = {"$PARAMETER": "fingerprint_table"}
        (suites / "ad_audience.json").write_text(json.dumps(data))
        table = audience(pg, [("+15550102008", "erin.marketing@example.com", "consented")])
        result = run(
            pg,
            table,
            tmp_path,
            suites_dir=suites,
            params={**PARAMS, "fingerprint_table": pg.t("pl_security_fingerprints")},
        )
        assert result.passed


class TestDuckDBMemoryLimit:
    """A worker runs several checks at once: each DuckDB check is capped, and spills beyond it."""

    @staticmethod
    def setting(engine) -> str:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT current_setting('memory_limit')").scalar()

    def test_every_connection_gets_the_limit(self, tmp_path):
        engine = sa.create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}", poolclass=sa.pool.NullPool)
        default = self.setting(engine)
        limit_duckdb_memory(engine, "300MB")
        assert self.setting(engine) != default
        assert self.setting(engine) == "286.1 MiB"  # DuckDB reports 300 MB in MiB
        engine.dispose()

    @pytest.mark.parametrize("limit", [None, ""])
    def test_no_limit_keeps_duckdbs_default(self, tmp_path, limit):
        engine = sa.create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}", poolclass=sa.pool.NullPool)
        default = self.setting(engine)
        limit_duckdb_memory(engine, limit)
        assert self.setting(engine) == default
        engine.dispose()

    @pytest.mark.parametrize("limit", ["lots", "2GB'; DROP TABLE x; --", "-1GB"])
    def test_a_limit_duckdb_would_not_understand_fails_closed(self, duck, tmp_path, limit):
        with pytest.raises(DataCheckError, match="not a size such as '2GB'.*duckdb_memory_limit"):
            run(duck, audience(duck, []), tmp_path, memory_limit=limit)

    def test_a_tight_limit_spills_and_still_counts(self, duck, tmp_path):
        table = audience(duck, [("+15550101001", None, "x"), ("(555) 010-1001", None, "y")])
        loose = run(duck, table, tmp_path, memory_limit=None)
        tight = run(duck, table, tmp_path, memory_limit="64MB")
        assert (tight.passed, tight.affected_count) == (loose.passed, loose.affected_count) == (False, 1)

    def test_the_airflow_option_defaults_to_2gb_and_empty_means_duckdbs_default(self, monkeypatch):
        from purpose_lineage import config

        config.duckdb_memory_limit.cache_clear()
        assert config.duckdb_memory_limit() == DEFAULT_DUCKDB_MEMORY_LIMIT == "2GB"
        monkeypatch.setenv("AIRFLOW__PURPOSE_LINEAGE__DUCKDB_MEMORY_LIMIT", "")
        config.duckdb_memory_limit.cache_clear()
        assert config.duckdb_memory_limit() == ""
        config.duckdb_memory_limit.cache_clear()
