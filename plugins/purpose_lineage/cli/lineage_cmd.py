"""``purpose-lineage lineage FILE``: column lineage of a SQL file, as text or JSON.

Exit codes: 0 when every statement was analysed fully, 1 when a statement has
unknowns (or the file/catalog cannot be read), 2 on usage errors. The SQL text
itself is never printed: literals in it may be raw identifiers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    from purpose_lineage.cli import add_format_option

    p = sub.add_parser("lineage", help="print the column lineage of a SQL file (direct and indirect edges)")
    p.add_argument("file", help="SQL file, or - for standard input")
    p.add_argument("--dialect", default=None, help="sqlglot dialect: duckdb, postgres, snowflake...")
    p.add_argument("--schema", default=None, help="catalog YAML/JSON mapping each table to its columns")
    p.add_argument(
        "--catalog-from",
        default=None,
        metavar="URL",
        help="read the catalog from a warehouse: duckdb:///file.db or postgresql://...",
    )
    p.add_argument("--default-prefix", default=None, help="schema of unqualified table names, e.g. main")
    add_format_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from purpose_lineage.core.lineage import analyze
    from purpose_lineage.errors import PurposeLineageError

    try:
        sql = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        schema = _load_schema(args.schema) if args.schema else {}
        if args.catalog_from:
            from purpose_lineage.warehouse_catalog import catalog_from_url

            schema = {**catalog_from_url(args.catalog_from), **schema}
    except (OSError, ValueError, PurposeLineageError) as exc:
        print(f"purpose-lineage lineage: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a driver error: say which, without its message (may hold a DSN password)
        print(f"purpose-lineage lineage: cannot read the catalog ({type(exc).__name__})", file=sys.stderr)
        return 1
    try:
        results = analyze(
            sql, dialect=args.dialect, schema=schema or None, default_table_prefix=args.default_prefix
        )
    except ValueError as exc:  # unknown dialect name
        print(f"purpose-lineage lineage: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps([_as_dict(st) for st in results], indent=2))
    else:
        print("\n".join(_as_text(st) for st in results))
    return 1 if any(st.unknowns for st in results) else 0


def _load_schema(path: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML/JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the catalog must map table names to columns")
    return data


def _edge_dict(edge: Any) -> dict[str, Any]:
    return {
        "source": {"table": edge.source.table, "column": edge.source.column},
        "target": {"table": edge.target.table, "column": edge.target.column},
        "type": edge.kind.value,
        "subtype": edge.subtype.value,
        "masking": edge.masking,
    }


def _as_dict(st: Any) -> dict[str, Any]:
    return {
        "statement": st.index + 1,
        "line": st.line,
        "output": st.output,
        "inputs": list(st.inputs),
        "columns": list(st.columns),
        "edges": [_edge_dict(e) for e in st.edges],
        "unknowns": [
            {"reason": u.reason, "table": u.table, "column": u.column, "line": u.line} for u in st.unknowns
        ],
        "constraints": [{"column": str(c.column), "predicate": c.predicate} for c in st.constraints],
    }


def _as_text(st: Any) -> str:
    lines = [f"statement {st.index + 1} (line {st.line}): {st.output or 'query result (no output table)'}"]
    if st.inputs:
        lines.append(f"  inputs: {', '.join(st.inputs)}")
    by_target: dict[str, list[Any]] = {}
    for edge in st.edges:
        key = edge.target.column if edge.target.column is not None else "*"
        by_target.setdefault(key, []).append(edge)
    for column in [*st.columns, "*"]:
        edges = by_target.pop(column, [])
        if not edges:
            continue
        lines.append("  all rows (dataset):" if column == "*" else f"  {column}:")
        for e in edges:
            masked = " masked" if e.masking else ""
            lines.append(f"    <- {e.source}  {e.kind.value}/{e.subtype.value}{masked}")
    for c in st.constraints:
        lines.append(f"  every row: {c.predicate}   [{c.column}]")
    for u in st.unknowns:
        where = ".".join(p for p in (u.table, u.column) if p)
        lines.append(f"  UNKNOWN (line {u.line}): {u.reason}" + (f"   [{where}]" if where else ""))
    return "\n".join(lines)
