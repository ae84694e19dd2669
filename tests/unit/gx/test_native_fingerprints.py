"""The native fingerprint extension computes exactly what core.sink_fingerprint computes.

Real compiler, real DuckDB, every SHA-256 implementation the CPU offers.
"""

from __future__ import annotations

import hashlib
import logging
import random
import stat
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from purpose_lineage import native
from purpose_lineage.core import fingerprint as core
from purpose_lineage.errors import DataCheckError
from purpose_lineage.gx.fingerprints import attach_native, attach_secret, fingerprint_sql

from .conftest import SECRET, assert_no_identifiers
from .test_fingerprints import CORPUS
from .test_run import PARAMS, audience, md5, run, sha

KEY = core.require_secret(SECRET)
OTHER_KEY = core.require_secret("another-fingerprint-secret-0002")


def _cpu_flags() -> set[str]:
    try:
        return set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return set()


# every SHA-256 this machine can run: the portable one always, SHA-NI and the sixteen-lane
# AVX-512 one where the CPU has them (the last is the one a check uses)
IMPLEMENTATIONS = (
    ["portable"]
    + (["sha-ni"] if "sha_ni" in _cpu_flags() else [])
    + (["avx512"] if "avx512f" in _cpu_flags() else [])
)


def _boundary_values() -> list[str]:
    """Sink keys of 1-4 SHA-256 blocks, around the 55/56-byte padding edge and the lane buffer."""
    values = []
    for length in (1, 54, 55, 56, 63, 64, 65, 118, 119, 120, 182, 183, 184, 185, 300, 5000):
        values.append("9" * length)
        values.append("u" * max(1, length - 4) + "@x.o")
        values.append(" (" + "1" * length + ")\t")
    return values


def _random_values(count: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    alphabet = "0123456789abcdefABCDEF@ .-+()\t\r\nxyzé"
    values: list[str | None] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.05:
            values.append(None)
        elif kind < 0.25:
            values.append(hashlib.sha256(str(rng.random()).encode()).hexdigest())
        elif kind < 0.35:
            values.append(hashlib.md5(str(rng.random()).encode()).hexdigest().upper())
        else:
            values.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90))))
    return values


CASES = CORPUS + _boundary_values() + _random_values(6000, seed=7)  # > 2 DuckDB vectors of 2048 rows


@pytest.fixture(scope="module")
def extension() -> Path:
    return native.extension_path()


def _connect(extension: Path, implementation: str, monkeypatch) -> duckdb.DuckDBPyConnection:
    monkeypatch.setenv("PURPOSE_LINEAGE_FP_IMPL", implementation)
    connection = duckdb.connect(config=native.duckdb_config())
    assert native.load(connection, extension) == implementation
    return connection


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_native_function_equals_core_or_leaves_the_value_to_sql(extension, implementation, monkeypatch):
    connection = _connect(extension, implementation, monkeypatch)
    ipad, opad = core.hmac_pads(KEY)
    got = connection.execute(
        "SELECT purpose_lineage_fp_native(v, $ipad, $opad) FROM unnest($values::VARCHAR[]) "
        "WITH ORDINALITY AS t(v, i) ORDER BY i",
        {"ipad": ipad, "opad": opad, "values": CASES},
    ).fetchall()
    mismatches = []
    for value, (fp,) in zip(CASES, got, strict=True):
        expected = core.sink_fingerprint(KEY, value)
        # NULL exactly where the SQL twin decides: no value, non-ASCII text, or no sink key
        left_to_sql = value is None or not value.isascii() or expected is None
        if fp != (None if left_to_sql else expected):
            mismatches.append(value)
    assert mismatches == []
    assert sum(fp is not None for (fp,) in got) > 3000


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("run", [1, 40])  # the key changes every row or two / after full batches
def test_pads_that_change_between_rows_are_honoured(extension, implementation, run, monkeypatch):
    """Values wait to be hashed together: a row must never be finished with another row's key."""
    connection = _connect(extension, implementation, monkeypatch)
    pads = [core.hmac_pads(KEY), core.hmac_pads(OTHER_KEY)]
    rows = [(v, (i // run) % 3 == 0) for i, v in enumerate(CASES[:3000])]
    got = connection.execute(
        "SELECT purpose_lineage_fp_native(v, CASE WHEN other THEN $i2 ELSE $i1 END, "
        "CASE WHEN other THEN $o2 ELSE $o1 END) FROM (SELECT ($values::VARCHAR[])[i] AS v, "
        "($other::BOOLEAN[])[i] AS other, i FROM range(1, len($values::VARCHAR[]) + 1) r(i)) ORDER BY i",
        {
            "i1": pads[0][0],
            "o1": pads[0][1],
            "i2": pads[1][0],
            "o2": pads[1][1],
            "values": [v for v, _ in rows],
            "other": [o for _, o in rows],
        },
    ).fetchall()
    for (value, other), (fp,) in zip(rows, got, strict=True):
        if fp is not None:
            assert fp == core.sink_fingerprint(OTHER_KEY if other else KEY, value), value


def test_session_expression_equals_core_for_every_value(extension, duck):
    """fingerprint_sql(native=True): the native function, and SQL for what it leaves."""
    engine = sa.create_engine(duck.url, connect_args={"config": native.duckdb_config()})
    attach_native(engine, extension)
    detach = attach_secret(engine, SECRET)
    try:
        with engine.connect() as c:
            got = c.execute(
                sa.text(
                    f"SELECT {fingerprint_sql('v', 'pl_security_fingerprints', native=True)} "
                    "FROM unnest(CAST(:values AS VARCHAR[])) WITH ORDINALITY AS t(v, i) ORDER BY i"
                ),
                {"values": CASES},
            ).fetchall()
    finally:
        detach()
        engine.dispose()
    assert [r[0] for r in got] == [core.sink_fingerprint(KEY, v) for v in CASES]


def test_missing_secret_fails_instead_of_matching_nothing(extension, monkeypatch):
    connection = _connect(extension, IMPLEMENTATIONS[-1], monkeypatch)
    with pytest.raises(duckdb.Error, match="fingerprint secret not set"):
        connection.execute(
            "SELECT purpose_lineage_fp_native('+15550101001', getvariable('purpose_lineage_fp_ipad'), "
            "getvariable('purpose_lineage_fp_opad'))"
        ).fetchall()
    with pytest.raises(duckdb.Error, match="pads must be 64 bytes"):
        connection.execute("SELECT purpose_lineage_fp_native('+15550101001', 'short'::BLOB, 'x'::BLOB)")


class TestBuild:
    def test_built_once_into_a_private_folder(self, tmp_path, monkeypatch):
        monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "cache"))
        first = native.extension_path()
        assert first.is_relative_to(tmp_path / "cache")
        built_at = first.stat().st_mtime_ns
        assert native.extension_path() == first and first.stat().st_mtime_ns == built_at
        assert stat.S_IMODE(first.stat().st_mode) == 0o600
        assert not first.parent.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        assert first.read_bytes().endswith(native.metadata_footer(native._duckdb_platform()))

    def test_a_folder_others_can_write_is_refused(self, tmp_path, monkeypatch):
        shared = tmp_path / "shared"
        shared.mkdir()
        monkeypatch.setenv(native.CACHE_ENV, str(shared))
        key_dir = shared / native._build_key(tuple(native._compiler()))
        key_dir.mkdir()
        key_dir.chmod(0o777)
        with pytest.raises(native.NativeUnavailable, match="writable by other users"):
            native.extension_path()

    def test_no_compiler_is_a_clear_error(self, tmp_path, monkeypatch):
        monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "cache"))
        monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
        with pytest.raises(native.NativeUnavailable, match="no C compiler found"):
            native.extension_path()

    def test_a_failing_compiler_is_reported_and_leaves_nothing(self, tmp_path, monkeypatch):
        monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "cache"))
        monkeypatch.setenv("CC", "false")
        with pytest.raises(native.NativeUnavailable, match="compiling the native fingerprint extension"):
            native.extension_path()
        assert not list((tmp_path / "cache").rglob("*.duckdb_extension"))

    def test_unknown_mode(self):
        with pytest.raises(DataCheckError, match="native_fingerprints must be one of auto, off, required"):
            native.check_mode("fast")


class TestRunSuite:
    ROWS = [
        ("+1 (555) 010-1001", None, "a"),
        (None, sha("alice.twofactor@example.com"), "b"),
        (None, md5("carol.recovery@example.com").upper(), "c"),
        ("0044 20 7946 0958", "Bob.2FA@example.org", "d"),
        ("+1 555 010 9999", "ünïcödé@exämple.com", "e"),
    ]

    def test_native_and_sql_give_the_same_verdict(self, duck, tmp_path):
        table = audience(duck, self.ROWS)
        fast = run(duck, table, tmp_path / "native", native_fingerprints="required")
        slow = run(duck, table, tmp_path / "sql", native_fingerprints="off")
        assert fast.fingerprints.startswith("native/") and slow.fingerprints == "sql"
        assert not fast.passed and fast.affected_count == slow.affected_count > 0
        assert [o.observed_value for o in fast.details] == [o.observed_value for o in slow.details]

    def test_auto_falls_back_to_sql_without_a_compiler(self, duck, tmp_path, monkeypatch, caplog):
        monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "empty-cache"))
        monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
        table = audience(duck, self.ROWS)
        with caplog.at_level(logging.WARNING, logger="purpose_lineage.gx.run"):
            result = run(duck, table, tmp_path, native_fingerprints="auto")
        assert result.fingerprints == "sql" and not result.passed and result.affected_count > 0
        assert "native fingerprints unavailable" in caplog.text and "no C compiler" in caplog.text

    def test_required_fails_closed_without_a_compiler(self, duck, tmp_path, monkeypatch):
        monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "empty-cache"))
        monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
        table = audience(duck, self.ROWS)
        with pytest.raises(DataCheckError, match="native fingerprints are required but unavailable"):
            run(duck, table, tmp_path, native_fingerprints="required")

    def test_an_extension_duckdb_cannot_load_falls_back_or_fails_closed(
        self, duck, tmp_path, monkeypatch, caplog
    ):
        monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "cache"))
        broken = native.extension_path()
        broken.write_bytes(b"not a shared library" + native.metadata_footer(native._duckdb_platform()))
        table = audience(duck, self.ROWS)
        with caplog.at_level(logging.WARNING, logger="purpose_lineage.gx.run"):
            result = run(duck, table, tmp_path / "auto", native_fingerprints="auto")
        assert result.fingerprints == "sql" and result.affected_count > 0
        assert "native fingerprints unavailable" in caplog.text
        with pytest.raises(DataCheckError, match="native fingerprints are required but unavailable"):
            run(duck, table, tmp_path / "required", native_fingerprints="required")

    def test_warehouse_already_open_in_this_process_falls_back(self, duck, tmp_path, caplog):
        """DuckDB allows one configuration per file and process: the check must not break on it."""
        table = audience(duck, self.ROWS)
        duck.engine.dispose()
        held = duck.engine.connect()  # as a hook or a test fixture would hold it
        try:
            with caplog.at_level(logging.WARNING, logger="purpose_lineage.gx.run"):
                result = run(duck, table, tmp_path, native_fingerprints="auto")
        finally:
            held.close()
        assert result.fingerprints == "sql" and result.affected_count > 0
        assert "native fingerprints unavailable" in caplog.text

    @pytest.mark.parametrize("mode", ["required", "off"])
    def test_the_file_is_free_for_other_settings_after_the_run(self, duck, tmp_path, mode):
        """dag.test() runs every task in one process: no connection of the check may outlive it."""
        table = audience(duck, self.ROWS)
        run(duck, table, tmp_path, native_fingerprints=mode)
        path = duck.url.removeprefix("duckdb:///")
        for config in ({}, native.duckdb_config()):  # DuckDB refuses a second configuration
            with duckdb.connect(path, config=config) as connection:
                assert connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == len(self.ROWS)

    def test_no_identifier_in_logs_or_results(self, duck, tmp_path, caplog, capsys):
        caplog.set_level(logging.DEBUG)
        table = audience(duck, self.ROWS)
        result = run(duck, table, tmp_path, native_fingerprints="required")
        out = capsys.readouterr()
        assert_no_identifiers("\n".join([caplog.text, out.out, out.err, repr(result)]), "native run output")


def test_params_reach_the_native_run(duck, tmp_path):
    """The suite's $PARAMETER columns are honoured on the native path too."""
    table = audience(duck, [(None, "nobody@example.net", "x")])
    result = run(duck, table, tmp_path, native_fingerprints="required", params=dict(PARAMS))
    assert result.passed and result.fingerprints.startswith("native/")
