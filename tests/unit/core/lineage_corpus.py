"""The golden lineage corpus: ``tests/fixtures/lineage/*.yaml``, read by this one helper.

Each file holds a list of cases::

    - name: incident_join_masked
      dialect: duckdb
      catalog: social            # a name in _catalogs.yaml, an inline mapping, or omitted
      indirect_only: [users_2fa.phone_number]   # used only as a join key / filter: checked
      sql: INSERT INTO ad_audience SELECT ...
      output: ad_audience        # omitted or null for a bare SELECT (edges go to <result>)
      columns: [campaign_id, user_id]
      edges:                     # per output column: "source -> column SUBTYPE [masked]"
        - advertiser_list.campaign_id -> campaign_id IDENTITY
      row:                       # row-level: on the dataset AND on every output column
        - users_2fa.phone_number JOIN masked
      unknowns: [{table: t, column: "*", reason: "SELECT *", line: 1}]   # reason: a substring
      constraints: ["users.flag :: users.flag = TRUE"]

A script case has ``statements:``, a list of such expectations, one per statement.
Edges are compared as whole sets: an extra or a missing edge fails the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from purpose_lineage.core.lineage import RESULT_TABLE
from purpose_lineage.core.model import StatementLineage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lineage"
EXPECT_KEYS = {"output", "columns", "edges", "row", "unknowns", "constraints", "inputs"}


@dataclass
class Case:
    name: str
    file: str
    sql: str
    dialect: str | None
    catalog: dict[str, Any] | None
    prefix: str | None
    statements: list[dict[str, Any]]
    indirect_only: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.file}::{self.name}"


def load_catalogs() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((FIXTURES / "_catalogs.yaml").read_text())


def load_cases() -> list[Case]:
    catalogs = load_catalogs()
    cases: list[Case] = []
    names: set[str] = set()
    for path in sorted(FIXTURES.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        for raw in yaml.safe_load(path.read_text()):
            name = raw["name"]
            assert name not in names, f"duplicate case name {name}"
            names.add(name)
            catalog = raw.get("catalog")
            if isinstance(catalog, str):
                catalog = catalogs[catalog]
            statements = raw.get("statements") or [{k: v for k, v in raw.items() if k in EXPECT_KEYS}]
            cases.append(
                Case(
                    name=name,
                    file=path.name,
                    sql=raw["sql"],
                    dialect=raw.get("dialect"),
                    catalog=catalog,
                    prefix=raw.get("prefix"),
                    statements=statements,
                    indirect_only=list(raw.get("indirect_only") or ()),
                    tags=list(raw.get("tags") or ()),
                )
            )
    return cases


def _split_ref(text: str) -> tuple[str, str]:
    table, _, column = text.strip().rpartition(".")
    return table, column


def expected_edges(exp: dict[str, Any]) -> set[tuple[str, str | None, str, str | None, str, bool]]:
    """(source table, source column, target table, target column, subtype, masked) tuples."""
    target = exp.get("output") or RESULT_TABLE
    columns = list(dict.fromkeys(exp.get("columns") or ()))
    out = set()
    for line in exp.get("edges") or ():
        left, _, right = line.partition("->")
        parts = right.split()
        src = _split_ref(left)
        column = None if parts[0] == "*" else parts[0]
        out.add((*src, target, column, parts[1], parts[-1] == "masked"))
    for line in exp.get("row") or ():
        parts = line.split()
        src = _split_ref(parts[0])
        for column in [None, *columns]:
            out.add((*src, target, column, parts[1], parts[-1] == "masked"))
    return out


def actual_edges(st: StatementLineage) -> set[tuple[str, str | None, str, str | None, str, bool]]:
    return {
        (e.source.table, e.source.column, e.target.table, e.target.column, e.subtype.value, e.masking)
        for e in st.edges
    }


def check_statement(case: Case, exp: dict[str, Any], st: StatementLineage) -> list[str]:
    """Differences between one expected statement and the analyser's result."""
    problems = []
    if exp.get("output") != st.output:
        problems.append(f"output {st.output!r} != expected {exp.get('output')!r}")
    if "columns" in exp and list(exp["columns"] or ()) != list(st.columns):
        problems.append(f"columns {list(st.columns)} != expected {exp['columns']}")
    if "inputs" in exp and sorted(exp["inputs"]) != sorted(st.inputs):
        problems.append(f"inputs {sorted(st.inputs)} != expected {sorted(exp['inputs'])}")
    want, got = expected_edges(exp), actual_edges(st)
    for edge in sorted(want - got, key=str):
        problems.append(f"missing edge {_fmt(edge)}")
    for edge in sorted(got - want, key=str):
        problems.append(f"unexpected edge {_fmt(edge)}")
    wanted_unknowns = list(exp.get("unknowns") or ())
    unmatched = list(st.unknowns)
    for want_u in wanted_unknowns:
        match = next((u for u in unmatched if _unknown_matches(want_u, u)), None)
        if match is None:
            problems.append(f"missing unknown {want_u}")
        else:
            unmatched.remove(match)
    for u in unmatched:
        problems.append(f"unexpected unknown {u.reason!r} table={u.table} column={u.column}")
    want_c = {tuple(s.strip() for s in c.split("::", 1)) for c in exp.get("constraints") or ()}
    got_c = {(str(c.column), c.predicate) for c in st.constraints}
    for c in sorted(want_c - got_c):
        problems.append(f"missing constraint {c}")
    for c in sorted(got_c - want_c):
        problems.append(f"unexpected constraint {c}")
    return problems


def _unknown_matches(want: dict[str, Any], got: Any) -> bool:
    return (
        want.get("table") == got.table
        and str(want.get("column")) == str(got.column)
        and str(want.get("reason", "")) in got.reason
        and ("line" not in want or want["line"] == got.line)
    )


def _fmt(edge: tuple) -> str:
    st, sc, tt, tc, sub, masked = edge
    return f"{st}.{sc} -> {tt}.{tc if tc is not None else '*'} {sub}{' masked' if masked else ''}"
