"""Output formats of ``purpose-lineage check``: text, JSON (``schemas/check-result.schema.json``)
and SARIF 2.1.0.

Only metadata is written: table and column names, taxonomy keys, edge kinds, file names and
lines. Never SQL text or literals (they may hold raw identifiers).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from purpose_lineage.core.model import Hop
from purpose_lineage.core.pipeline import Finding, Location, PipelineResult, UnknownFinding
from purpose_lineage.core.policy import Policy
from purpose_lineage.core.report import render_path

RESULT_SCHEMA_PATH = Path(__file__).with_name("schemas") / "check-result.schema.json"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
UNKNOWN_RULE = "unresolved-lineage"
INFO_URI = (
    "https://github.com/airflow-purpose-lineage/airflow-purpose-lineage/blob/main/docs/reference/check.md"
)


# -- JSON ---------------------------------------------------------------------------------


def to_json(result: PipelineResult, *, policy_file: str | None = None, tags_file: str | None = None) -> dict:
    """The JSON result object (validates against ``check-result.schema.json``)."""
    summary = result.summary()
    summary["policy"] = policy_file
    summary["tags"] = tags_file
    return {
        "version": 1,
        "verdict": result.verdict,
        "violations": [_violation(f) for f in result.findings],
        "unknowns": [_unknown(u) for u in result.unknowns],
        "summary": summary,
    }


def _violation(f: Finding) -> dict:
    v = f.violation
    return {
        "rule": v.rule,
        "sink": v.sink,
        "sink_column": v.sink_column,
        "source": v.source,
        "source_column": v.source_column,
        "purpose": v.purpose,
        "category": v.category,
        "path": [_hop(h) for h in v.path],
        "edge_kinds": list(v.edge_kinds),
        "location": _location(f.location),
    }


def _hop(h: Hop) -> dict:
    return {"table": h.table, "column": h.column, "edge": h.edge, "masked": h.masked}


def _location(loc: Location | None) -> dict | None:
    if loc is None:
        return None
    return {"file": loc.file, "line": loc.line, "source": loc.source, "statement": loc.statement}


def _unknown(u: UnknownFinding) -> dict:
    return {
        "reason": u.unknown.reason,
        "table": u.unknown.table,
        "column": u.unknown.column,
        "inputs": list(u.unknown.inputs),
        "blocking": u.blocking,
        "location": _location(u.location),
    }


# -- text ---------------------------------------------------------------------------------

_COLOURS = {"red": "31", "yellow": "33", "green": "32", "dim": "2", "bold": "1"}


def to_text(result: PipelineResult, *, colour: bool = False) -> str:
    """A human report: each violation with its location and path, then unknowns, then a verdict line."""

    def c(text: str, name: str) -> str:
        return f"\033[{_COLOURS[name]}m{text}\033[0m" if colour else text

    lines: list[str] = []
    for f in result.findings:
        v = f.violation
        sink = f"{v.sink}.{v.sink_column}" if v.sink_column else v.sink
        lines.append(
            f"{_where(f.location)}: {c('violation', 'red')} [{v.rule}] {v.category} collected for "
            f"{v.purpose} reaches {sink}"
        )
        lines.append(f"    {render_path(v)}")
    for u in result.unknowns:
        label = c("unknown (blocking)", "yellow") if u.blocking else c("unknown", "dim")
        at = f" at {u.unknown.table}" if u.unknown.table else ""
        lines.append(f"{_where(u.location)}: {label}{at}: {u.unknown.reason}")
    s = result.summary()
    counts = (
        f"{s['sources']} source(s), {s['statements']} statement(s), {s['violations']} violation(s), "
        f"{s['unknowns']} unknown(s) ({s['blocking_unknowns']} blocking)"
    )
    verdict = c("FAIL", "red") if result.verdict == "fail" else c("PASS", "green")
    lines.append(f"{c('purpose-lineage check', 'bold')}: {verdict}: {counts}")
    return "\n".join(lines)


def _where(loc: Location | None) -> str:
    return f"{loc.file}:{loc.line}" if loc is not None else "<tags catalog>"


def use_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set (https://no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


# -- SARIF --------------------------------------------------------------------------------


def to_sarif(
    result: PipelineResult, policy: Policy, *, root: str | Path | None = None, version: str = "0"
) -> dict:
    """A SARIF 2.1.0 log: one result per violation (rule = policy rule) and per unknown,
    located at the SQL file and line of the statement writing the sink.

    File URIs are relative to ``root`` (default: the working directory) under the
    ``%SRCROOT%`` base, as code-scanning uploads expect; files outside it get ``file://`` URIs.
    """
    root_path = Path(root or os.getcwd()).resolve()
    rules = [
        {
            "id": r.name,
            "name": _pascal(r.name),
            "shortDescription": {"text": r.name},
            "fullDescription": {"text": r.description or r.name},
            "defaultConfiguration": {"level": "error"},
            "helpUri": INFO_URI,
            "properties": {"tags": ["privacy", "purpose-limitation"]},
        }
        for r in policy.rules
    ]
    rules.append(
        {
            "id": UNKNOWN_RULE,
            "name": "UnresolvedLineage",
            "shortDescription": {"text": "lineage could not be resolved"},
            "fullDescription": {
                "text": "The check could not tell which columns a statement reads or writes; on a "
                "path into a denied sink it fails closed (use --allow-unknown to ignore)."
            },
            "defaultConfiguration": {"level": "error"},
            "helpUri": INFO_URI,
        }
    )
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in result.findings:
        v = f.violation
        sink = f"{v.sink}.{v.sink_column}" if v.sink_column else v.sink
        item: dict[str, Any] = {
            "ruleId": v.rule,
            "ruleIndex": index.get(v.rule, index[UNKNOWN_RULE]),
            "level": "error",
            "message": {
                "text": f"{v.category} collected for {v.purpose} reaches {sink} "
                f"(rule {v.rule}): {render_path(v)}"
            },
            "partialFingerprints": {
                "purposeFlow/v1": _digest(
                    v.rule, v.sink, v.source, v.source_column or "", v.category, v.purpose
                )
            },
            "properties": {"edgeKinds": list(v.edge_kinds), "path": [_hop(h) for h in v.path]},
        }
        if f.location is not None:
            item["locations"] = [_sarif_location(f.location, root_path)]
        related = [
            {**_sarif_location(loc, root_path), "id": i, "message": {"text": f"writes {hop}"}}
            for i, (hop, loc) in enumerate(zip(v.path, f.hops, strict=False))
            if loc is not None and loc != f.location
        ]
        if related:
            item["relatedLocations"] = related
        results.append(item)
    for u in result.unknowns:
        results.append(
            {
                "ruleId": UNKNOWN_RULE,
                "ruleIndex": index[UNKNOWN_RULE],
                "level": "error" if u.blocking else "note",
                "message": {
                    "text": u.unknown.reason + (f" (at {u.unknown.table})" if u.unknown.table else "")
                },
                "locations": [_sarif_location(u.location, root_path)],
                "partialFingerprints": {
                    "purposeFlow/v1": _digest(
                        UNKNOWN_RULE, u.location.source, str(u.location.statement), u.unknown.reason
                    )
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "purpose-lineage",
                        "version": version,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root_path.as_uri() + "/"}},
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def _sarif_location(loc: Location, root: Path) -> dict:
    path = Path(loc.file)
    absolute = (path if path.is_absolute() else Path.cwd() / path).resolve()
    try:
        artifact = {"uri": absolute.relative_to(root).as_posix(), "uriBaseId": "%SRCROOT%"}
    except ValueError:
        artifact = {"uri": absolute.as_uri()}
    return {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": max(loc.line, 1)}}}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _pascal(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.replace("_", "-").split("-") if p)


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)
