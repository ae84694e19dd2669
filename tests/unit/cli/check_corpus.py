"""The check corpus: ``tests/fixtures/check/*.yaml``, read by this one helper.

Each file holds a list of small pipelines::

    - name: hash_then_join_into_ads
      tags: social                  # a catalog in _tags.yaml, or an inline catalog
      policy: safe_counts           # optional: a file in _policies/ (default: the shipped policy)
      dialect: duckdb               # optional (default duckdb)
      allow_unknown: false          # optional
      files:                        # SQL files in pipeline order (or ``sql:`` for one file <name>.sql)
        01_hash.sql: CREATE TABLE h AS SELECT sha256(phone_number) AS p FROM users_2fa
        02_ads.sql: INSERT INTO ad_audience_x SELECT ...
      expect:
        verdict: fail
        violations:                 # compared as a whole set
          - rule: ads               # ads | discovery | a full rule name
            sink: ad_audience_x     # "table" or "table.column" (column compared when given)
            source: users_2fa.phone_number
            path: [users_2fa, h, ad_audience_x]      # hop tables
            edges: [DIRECT/TRANSFORMATION, INDIRECT/JOIN]   # optional: edge_kinds
            at: 02_ads.sql:1        # optional: file:line of the statement writing the sink
        blocking_unknowns: 1        # optional: number of blocking unknowns
      xfail: why                    # optional: a known analyser gap (strict xfail)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "check"
RULES = {"ads": "security-contact-never-to-ads", "discovery": "security-contact-discovery-needs-consent"}
CASE_KEYS = {"name", "tags", "policy", "dialect", "allow_unknown", "files", "sql", "expect", "xfail", "note"}


@dataclass
class Case:
    name: str
    file: str
    tags: dict[str, Any]
    files: dict[str, str]
    expect: dict[str, Any]
    policy: str | None = None
    dialect: str = "duckdb"
    allow_unknown: bool = False
    xfail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.file}::{self.name}"

    def write(self, root: Path) -> tuple[list[str], str, str | None]:
        """Write SQL files, tags and policy under ``root``; returns (SQL names, tags path, policy path)."""
        for name, sql in self.files.items():
            (root / name).write_text(sql)
        (root / "tags.yaml").write_text(yaml.safe_dump(self.tags, sort_keys=False))
        policy = str(FIXTURES / "_policies" / f"{self.policy}.yaml") if self.policy else None
        return list(self.files), "tags.yaml", policy

    def argv(self, root: Path, fmt: str = "json") -> list[str]:
        names, tags, policy = self.write(root)
        argv = ["check", *names, "--tags", tags, "--dialect", self.dialect, "--format", fmt]
        if policy:
            argv += ["--policy", policy]
        if self.allow_unknown:
            argv.append("--allow-unknown")
        return argv


def load_cases() -> list[Case]:
    catalogs = yaml.safe_load((FIXTURES / "_tags.yaml").read_text())
    cases: list[Case] = []
    names: set[str] = set()
    for path in sorted(FIXTURES.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        for raw in yaml.safe_load(path.read_text()):
            unknown = set(raw) - CASE_KEYS
            assert not unknown, f"{path.name}::{raw.get('name')}: unknown keys {unknown}"
            name = raw["name"]
            assert name not in names, f"duplicate case name {name}"
            names.add(name)
            tags = raw.get("tags", "social")
            files = raw.get("files") or {f"{name}.sql": raw["sql"]}
            cases.append(
                Case(
                    name=name,
                    file=path.name,
                    tags=catalogs[tags] if isinstance(tags, str) else tags,
                    files=dict(files),
                    expect=raw["expect"],
                    policy=raw.get("policy"),
                    dialect=raw.get("dialect", "duckdb"),
                    allow_unknown=bool(raw.get("allow_unknown")),
                    xfail=raw.get("xfail"),
                )
            )
    return cases


def expected(case: Case) -> dict[str, Any]:
    """The expectation in the shape of :func:`actual`."""
    exp = case.expect
    out: dict[str, Any] = {"verdict": exp["verdict"], "violations": []}
    for v in exp.get("violations") or ():
        source_table, _, source_column = v["source"].rpartition(".")
        row = {
            "rule": RULES.get(v["rule"], v["rule"]),
            "sink": v["sink"],
            "source": source_table,
            "source_column": source_column,
            "path": list(v["path"]),
        }
        if "column" in v:
            row["sink_column"] = v["column"]
        if "edges" in v:
            row["edges"] = list(v["edges"])
        if "at" in v:
            row["at"] = v["at"]
        out["violations"].append(row)
    out["violations"].sort(key=_key)
    if "blocking_unknowns" in exp:
        out["blocking_unknowns"] = exp["blocking_unknowns"]
    return out


def actual(case: Case, result: dict[str, Any]) -> dict[str, Any]:
    """The parts of a ``check --format json`` result that the case's expectation names."""
    out: dict[str, Any] = {"verdict": result["verdict"], "violations": []}
    wanted = {
        (RULES.get(v["rule"], v["rule"]), v["sink"], v["source"]): v
        for v in case.expect.get("violations") or ()
    }
    for v in result["violations"]:
        row = {
            "rule": v["rule"],
            "sink": v["sink"],
            "source": v["source"],
            "source_column": v["source_column"],
            "path": [h["table"] for h in v["path"]],
        }
        want = wanted.get((v["rule"], v["sink"], f"{v['source']}.{v['source_column']}"), {})
        if "column" in want:
            row["sink_column"] = v["sink_column"]
        if "edges" in want:
            row["edges"] = v["edge_kinds"]
        if "at" in want:
            loc = v["location"]
            row["at"] = f"{loc['file']}:{loc['line']}" if loc else None
        out["violations"].append(row)
    out["violations"].sort(key=_key)
    if "blocking_unknowns" in case.expect:
        out["blocking_unknowns"] = result["summary"]["blocking_unknowns"]
    return out


def _key(row: dict[str, Any]) -> tuple:
    return (row["rule"], row["sink"], row["source"], row["source_column"])
