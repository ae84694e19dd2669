"""``purpose-lineage validate-policy``: check a policy file, optionally against known tables.

Exit codes: 0 valid, 1 invalid (every problem is printed with file and line), 2 usage error
or an unreadable ``--tables`` catalog.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from purpose_lineage.cli import add_format_option

    p = sub.add_parser(
        "validate-policy",
        help="validate a purpose policy file",
        description="Validate a purpose policy (YAML). Every problem is reported with its file, line and the "
        "nearest valid key. With --tables, sink patterns that match no known table are errors too.",
    )
    p.add_argument(
        "file", metavar="FILE", nargs="?", help="policy YAML (default: the policy shipped in the package)"
    )
    p.add_argument(
        "--tables",
        metavar="CATALOG",
        help="known tables: a text file (one name a line), a JSON/YAML list or mapping, a DuckDB file, "
        "or a database URL (duckdb:///..., postgresql://...)",
    )
    add_format_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from purpose_lineage.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE
    from purpose_lineage.core.policy import DEFAULT_POLICY_PATH, check_policy, validate_against_tables

    path = Path(args.file) if args.file else DEFAULT_POLICY_PATH
    if not path.is_file():
        print(f"purpose-lineage validate-policy: error: no such policy file: {path}", file=sys.stderr)
        return EXIT_USAGE
    policy, problems = check_policy(path)
    tables: list[str] | None = None
    if args.tables:
        try:
            tables = read_tables(args.tables)
        except Exception as exc:  # any reader failure is an input error, reported without a traceback
            print(
                f"purpose-lineage validate-policy: error: cannot read --tables {args.tables}: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if policy is not None:
            problems = validate_against_tables(policy, tables)
    valid = not problems
    if args.format == "json":
        out = {
            "file": str(path),
            "valid": valid,
            "problems": [{"file": p.file, "line": p.line, "message": p.message} for p in problems],
            "summary": _summary(policy, tables) if policy is not None else None,
        }
        print(json.dumps(out, indent=2))
    else:
        for problem in problems:
            print(problem)
        if valid and policy is not None:
            s = _summary(policy, tables)
            checked = f", checked against {s['tables']} tables" if tables is not None else ""
            counts = ", ".join(
                _plural(s[k], k.replace("_", " ")) for k in ("rules", "sinks", "consent_exceptions")
            )
            print(f"{path}: valid ({counts}{checked})")
        else:
            print(f"{path}: invalid ({_plural(len(problems), 'problems')})")
    return EXIT_OK if valid else EXIT_FAIL


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun if n != 1 else noun[:-1]}"


def _summary(policy, tables: list[str] | None) -> dict:
    return {
        "rules": len(policy.rules),
        "sinks": len(policy.sinks),
        "consent_exceptions": len(policy.consent_exceptions),
        "tables": len(tables) if tables is not None else None,
    }


def read_tables(source: str) -> list[str]:
    """Table names from a text/JSON/YAML file, a DuckDB file or a SQLAlchemy database URL."""
    if "://" in source:
        return _tables_from_url(source)
    path = Path(source)
    if path.suffix in (".duckdb", ".ddb", ".db"):
        return _tables_from_url(f"duckdb:///{path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".json", ".yaml", ".yml"):
        import yaml  # YAML is a superset of JSON

        data = yaml.safe_load(text)
        if isinstance(data, dict) and isinstance(data.get("tables"), dict | list):
            data = data["tables"]
        if isinstance(data, dict):
            return [str(k) for k in data]
        if isinstance(data, list) and all(isinstance(t, str) for t in data):
            return list(data)
        raise ValueError("expected a list of table names or a mapping keyed by table name")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _tables_from_url(url: str) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        skip = {"information_schema", "pg_catalog", "pg_toast"}
        names = []
        for schema in inspector.get_schema_names():
            if schema in skip:
                continue
            names += [f"{schema}.{t}" for t in inspector.get_table_names(schema=schema)]
            names += [f"{schema}.{v}" for v in inspector.get_view_names(schema=schema)]
        return names
    finally:
        engine.dispose()
