"""``purpose-lineage lineage``: text and JSON output, exit codes, no SQL literals printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from purpose_lineage.cli import main

INCIDENT = (
    "INSERT INTO ad_audience SELECT a.campaign_id, u.user_id FROM advertiser_list a "
    "JOIN users_2fa u ON a.phone_sha256 = sha256(u.phone_number) WHERE u.phone_number <> '+15551234567';\n"
)
CATALOG = "users_2fa: [user_id, phone_number]\nadvertiser_list: [campaign_id, phone_sha256]\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    sql, catalog = tmp_path / "job.sql", tmp_path / "catalog.yaml"
    sql.write_text(INCIDENT)
    catalog.write_text(CATALOG)
    return sql, catalog


def test_text_output(files, capsys: pytest.CaptureFixture[str]) -> None:
    sql, catalog = files
    assert main(["lineage", str(sql), "--dialect", "duckdb", "--schema", str(catalog)]) == 0
    out = capsys.readouterr().out
    assert "statement 1 (line 1): ad_audience" in out
    assert "<- users_2fa.phone_number  INDIRECT/JOIN masked" in out
    assert "<- users_2fa.user_id  DIRECT/IDENTITY" in out
    assert "15551234567" not in out


def test_json_output(files, capsys: pytest.CaptureFixture[str]) -> None:
    sql, catalog = files
    assert main(["lineage", str(sql), "--schema", str(catalog), "--format", "json"]) == 0
    [st] = json.loads(capsys.readouterr().out)
    assert st["output"] == "ad_audience"
    assert st["columns"] == ["campaign_id", "user_id"]
    join = {
        "source": {"table": "users_2fa", "column": "phone_number"},
        "target": {"table": "ad_audience", "column": None},
        "type": "INDIRECT",
        "subtype": "JOIN",
        "masking": True,
    }
    assert join in st["edges"]
    assert all("15551234567" not in c["predicate"] for c in st["constraints"])


def test_unknowns_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = tmp_path / "star.sql"
    sql.write_text("SELECT * FROM raw;\nSELECT (1;")
    assert main(["lineage", str(sql), "--format", "json"]) == 1
    first, second = json.loads(capsys.readouterr().out)
    assert first["unknowns"][0]["column"] == "*"
    assert second["unknowns"][0]["reason"].startswith("parse error")


def test_missing_file_and_bad_catalog_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", str(tmp_path / "missing.sql")]) == 1
    sql, bad = tmp_path / "a.sql", tmp_path / "bad.yaml"
    sql.write_text("SELECT 1")
    bad.write_text("- just\n- a list\n")
    assert main(["lineage", str(sql), "--schema", str(bad)]) == 1
    assert "catalog must map" in capsys.readouterr().err


def test_usage_errors_exit_2(files) -> None:
    sql, _ = files
    assert main(["lineage", str(sql), "--dialect", "nosuch"]) == 2
    assert main(["lineage"]) == 2
