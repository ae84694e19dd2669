from __future__ import annotations

import hashlib
import json

import pytest

from purpose_lineage.cli import main

from .conftest import SECRET, assert_no_identifiers


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("PURPOSE_LINEAGE_FINGERPRINT_SECRET", SECRET)


def test_run_fails_with_affected_count(duck, tmp_path, env, capsys):
    duck.load("aud", "phone VARCHAR", [(hashlib.sha256(b"+15550101002").hexdigest(),), ("+1 555 010 4444",)])
    code = main(
        [
            "data-check",
            "run",
            "ad_audience",
            "--table",
            "aud",
            "--url",
            duck.url,
            "--param",
            'identifier_columns=["phone"]',
            "--docs-dir",
            str(tmp_path / "docs"),
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr()
    assert code == 1
    result = json.loads(out.out)
    assert (result["passed"], result["affected_count"]) == (False, 1)
    assert_no_identifiers(out.out + out.err, "CLI output")


def test_run_passes(duck, tmp_path, env, capsys):
    duck.load("aud", "phone VARCHAR", [("+1 555 010 4444",)])
    code = main(
        [
            "data-check",
            "run",
            "ad_audience",
            "--table",
            "aud",
            "--url",
            duck.url,
            "--param",
            'identifier_columns=["phone"]',
            "--docs-dir",
            str(tmp_path / "docs"),
        ]
    )
    assert code == 0 and "passed, 0 identifiers affected" in capsys.readouterr().out


def test_missing_secret_exit_1(duck, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PURPOSE_LINEAGE_FINGERPRINT_SECRET", raising=False)
    duck.load("aud", "phone VARCHAR", [])
    code = main(
        [
            "data-check",
            "run",
            "ad_audience",
            "--table",
            "aud",
            "--url",
            duck.url,
            "--param",
            'identifier_columns=["phone"]',
        ]
    )
    assert code == 1 and "no fingerprint secret" in capsys.readouterr().err


def test_build(duck, env, capsys):
    code = main(
        [
            "data-check",
            "build",
            "--url",
            duck.url,
            "--table",
            "fp_cli",
            "--format",
            "json",
            "--source",
            "users_2fa:phone:phone:user_id",
            "--exclude",
            json.dumps(
                {
                    "query": "SELECT * FROM marketing_contacts WHERE consent",
                    "column": "phone",
                    "kind": "phone",
                    "user_column": "user_id",
                }
            ),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and (report["identities"], report["excluded"]) == (4, 1)


def test_usage_error():
    assert main(["data-check", "run"]) == 2
