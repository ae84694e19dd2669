"""``purpose-lineage scan`` end to end, as a subprocess, on the corpus in a DuckDB file.

The leak test reads everything the command writes (stdout and stderr, text and JSON)
and looks for every value of the test data, and for the normalised forms of every
identifier: none may appear.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import detect_corpus
import generate_corpus
import phonenumbers
import pytest

CLI = [sys.executable, "-m", "purpose_lineage.cli"]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def outputs(corpus_duckdb) -> dict[str, subprocess.CompletedProcess]:
    return {fmt: _run("scan", "--db", corpus_duckdb, "--format", fmt) for fmt in ("text", "json")}


def _forms(columns: list[dict]) -> set[str]:
    """Every raw value (6+ characters) plus normalised forms of identifiers."""
    forms = set()
    for v in detect_corpus.all_values(columns):
        if v in generate_corpus.NOISE:  # placeholders such as "unknown" are not data
            continue
        if len(v) >= 6:
            forms.add(v)
        digits = "".join(ch for ch in v if ch.isdigit())
        if len(digits) >= 7 and not v.isalpha():
            forms.add(digits)
        if "@" in v:
            address = v.split("<")[-1].strip(" >").removeprefix("mailto:").lower()
            forms.add(address)
            local = address.split("@")[0]
            if len(local) >= 8:
                forms.add(local)
        if v.startswith("+"):
            try:
                forms.add(
                    phonenumbers.format_number(
                        phonenumbers.parse(v, None), phonenumbers.PhoneNumberFormat.E164
                    )
                )
            except phonenumbers.NumberParseException:
                pass
    return forms


def test_text_report(outputs):
    out = outputs["text"]
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Scanned duckdb:///")
    assert re.search(r"\d+ column\(s\) carry contact identifiers:", out.stdout)
    assert re.search(r"phone +0\.\d\d +\d+/\d+ +\d+% +[A-Z]{2} +\+\d+ \*", out.stdout)
    assert out.stderr == ""  # not a terminal: no progress bar


def test_json_report(outputs, corpus_tables):
    out = outputs["json"]
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["tables"]) == len(corpus_tables)
    assert doc["columns"] == sum(len(t) for t in corpus_tables)
    classes = {f["class"] for f in doc["findings"]}
    assert classes == {"phone", "email", "hashed_identifier"}
    hashed = [f for f in doc["findings"] if f["class"] == "hashed_identifier"]
    assert all("name says" in f["reason"] for f in hashed)  # no fingerprint hook from the CLI
    assert all(t["purpose"] == "unknown" and t["source"] == "detected" for t in doc["tags"])
    assert len(doc["tags"]) == len(doc["findings"])


def test_no_raw_identifier_in_any_output(outputs, corpus_columns):
    text = "".join(o.stdout + o.stderr for o in outputs.values())
    forms = _forms(corpus_columns)
    assert len(forms) > 20_000
    leaked = sorted(f for f in forms if f in text)
    assert leaked == []


def test_progress_bar_on_a_terminal(corpus_duckdb):
    main, child = pty.openpty()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [*CLI, "scan", "--db", corpus_duckdb, "--tables", "corpus_000,corpus_001"],
        stdout=subprocess.PIPE, stderr=child, env=env, timeout=300, text=True,
    )  # fmt: skip
    os.close(child)
    err = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(main)
    assert proc.returncode == 0
    assert b"scan [" in err and b"2/2 tables" in err
    assert b"1/2 tables" in err


def test_errors_and_usage(tmp_path, corpus_duckdb):
    missing = _run("scan", "--db", f"duckdb:///{tmp_path}/none/x.duckdb")
    assert missing.returncode == 1 and missing.stderr.startswith("error: cannot open DuckDB database")
    unknown = _run("scan", "--db", corpus_duckdb, "--tables", "nope")
    assert unknown.returncode == 1 and "no such table: nope" in unknown.stderr
    assert _run("scan", "--db", corpus_duckdb, "--sample", "0").returncode == 2
    assert _run("scan").returncode == 2
    pw = _run("scan", "--db", "postgresql://ann:s3cr3t@127.0.0.1:1/x")
    assert pw.returncode == 1 and "s3cr3t" not in pw.stdout + pw.stderr


def test_fail_on_findings(corpus_duckdb):
    out = _run("scan", "--db", corpus_duckdb, "--tables", "corpus_000", "--fail-on-findings", "--no-progress")
    assert out.returncode == 1 and "carry contact identifiers" in out.stdout
