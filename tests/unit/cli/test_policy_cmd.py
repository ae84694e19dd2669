"""``purpose-lineage validate-policy``: exit codes 0 valid / 1 invalid / 2 usage, text and JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from purpose_lineage.cli import main
from purpose_lineage.core.policy import DEFAULT_POLICY_PATH

BROKEN = """\
sinks:
  - name: ads
    tables: ["ad_audience_*"]
    use: marketing.advertsing
rules: []
"""


def test_default_policy_is_valid(capsys):
    assert main(["validate-policy"]) == 0
    assert (
        capsys.readouterr().out == f"{DEFAULT_POLICY_PATH}: valid (2 rules, 2 sinks, 1 consent exception)\n"
    )


def test_broken_policy_exits_1_listing_every_problem(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(BROKEN)
    assert main(["validate-policy", "p.yaml"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "p.yaml:4: sinks[0].use: unknown data use 'marketing.advertsing'; did you mean "
        "'marketing.advertising'?",
        "p.yaml:5: rules: expected at least one rule, got an empty list",
        "p.yaml: invalid (2 problems)",
    ]


def test_json_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(BROKEN)
    assert main(["validate-policy", "p.yaml", "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "file": "p.yaml",
        "valid": False,
        "problems": [
            {
                "file": "p.yaml",
                "line": 4,
                "message": "sinks[0].use: unknown data use 'marketing.advertsing'; "
                "did you mean 'marketing.advertising'?",
            },
            {"file": "p.yaml", "line": 5, "message": "rules: expected at least one rule, got an empty list"},
        ],
        "summary": None,
    }


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["validate-policy", str(tmp_path / "missing.yaml")]) == 2
    assert "no such policy file" in capsys.readouterr().err
    assert main(["validate-policy", "--format", "xml"]) == 2
    assert main(["validate-policy", "--tables", str(tmp_path / "nope.txt")]) == 2
    assert "cannot read --tables" in capsys.readouterr().err


def test_tables_from_a_text_catalog(tmp_path, capsys):
    catalog = tmp_path / "tables.txt"
    catalog.write_text("# known tables\nanalytics.ad_audience_acme\nusers\n")
    assert main(["validate-policy", "--tables", str(catalog)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{DEFAULT_POLICY_PATH}:20: sink 'phone_lookup': table pattern 'phone_lookup' matches no known table",
        f"{DEFAULT_POLICY_PATH}: invalid (1 problem)",
    ]


def test_tables_from_a_yaml_tag_catalog(tmp_path, capsys):
    catalog = tmp_path / "tags.yaml"
    catalog.write_text("tables:\n  ad_audience_x: {}\n  phone_lookup: {}\n  users: {}\n")
    assert main(["validate-policy", "--tables", str(catalog), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["tables"] == 3


def test_tables_from_a_duckdb_database(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE ad_audience_acme(user_id INT); CREATE TABLE phone_lookup(h TEXT)")
    con.execute("CREATE SCHEMA crm; CREATE TABLE crm.users(discoverable_by_phone BOOLEAN)")
    con.close()
    assert main(["validate-policy", "--tables", str(db)]) == 0
    assert capsys.readouterr().out.endswith("checked against 3 tables)\n")
    assert main(["validate-policy", "--tables", f"duckdb:///{db}"]) == 0


def test_console_script_runs(tmp_path):
    (tmp_path / "p.yaml").write_text(BROKEN)
    cmd = [sys.executable, "-m", "purpose_lineage.cli", "validate-policy", "p.yaml"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "p.yaml: invalid (2 problems)"


@pytest.mark.postgres
def test_tables_from_a_postgres_database(capsys):
    psycopg2 = pytest.importorskip("psycopg2")
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = 'pl_policy'")
        if cur.fetchone() is None:
            cur.execute("CREATE DATABASE pl_policy")
    admin.close()
    con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="pl_policy")
    with con, con.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS ads CASCADE; CREATE SCHEMA ads")
        cur.execute("CREATE TABLE ads.ad_audience_acme(user_id int); CREATE TABLE ads.users(id int)")
    con.close()
    url = "postgresql://postgres@127.0.0.1:5432/pl_policy"
    assert main(["validate-policy", "--tables", url]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{DEFAULT_POLICY_PATH}:20: sink 'phone_lookup': table pattern 'phone_lookup' matches no known table"
    )
