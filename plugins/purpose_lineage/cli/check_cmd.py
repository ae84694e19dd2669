"""``purpose-lineage check``: evaluate pipelines against the purpose policy before anything runs.

SQL files are evaluated in the order given as one pipeline; ``--dags DIR`` adds the SQL of
the project's operators in DAG files (task order, no task executed). Exit codes: 0 clean,
1 violations or blocking unknowns, 2 usage or input error (missing file, broken policy or
tags catalog, a DAG that does not import).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_TAGS = "purpose-tags.yaml"
DEFAULT_POLICY = "purpose-policy.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    from purpose_lineage.cli import add_format_option

    p = sub.add_parser(
        "check",
        help="check SQL pipelines or DAGs against the purpose policy (CI, pre-commit)",
        description="Evaluate SQL files (in the order given, as one pipeline) and/or the SQL of the "
        "project's operators in Airflow DAG files against the purpose policy, without running anything. "
        "Exit codes: 0 clean, 1 violations, 2 usage or input error.",
    )
    p.add_argument(
        "files",
        metavar="SQL",
        nargs="*",
        help="SQL files in pipeline order; a directory means its *.sql files (recursive, sorted)",
    )
    p.add_argument("--dags", metavar="DIR", help="also load Airflow DAG files from DIR (no task is run)")
    p.add_argument(
        "--policy",
        metavar="FILE",
        help=f"policy YAML (default: ./{DEFAULT_POLICY} if present, else the policy shipped in the package)",
    )
    p.add_argument("--tags", metavar="FILE", help=f"tags catalog YAML (default: ./{DEFAULT_TAGS})")
    p.add_argument("--dialect", metavar="NAME", help="sqlglot dialect of the SQL (duckdb, postgres, ...)")
    p.add_argument(
        "--allow-unknown",
        action="store_true",
        help="do not fail on lineage that cannot be resolved (default: fail closed)",
    )
    add_format_option(p, "text", "json", "sarif")
    p.set_defaults(handler=run)


def _error(message: str) -> None:
    print(f"purpose-lineage check: error: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from purpose_lineage.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE
    from purpose_lineage.cli.check_report import dumps, to_json, to_sarif, to_text, use_colour
    from purpose_lineage.cli.tags_catalog import read_tags_catalog
    from purpose_lineage.core.pipeline import SqlSource, evaluate_pipeline
    from purpose_lineage.core.policy import DEFAULT_POLICY_PATH, load_policy
    from purpose_lineage.errors import CatalogError, PolicyError

    if not args.files and not args.dags:
        _error("nothing to check: give SQL files or --dags DIR")
        return EXIT_USAGE
    if args.dialect:
        from sqlglot.dialects.dialect import Dialect

        try:
            Dialect.get_or_raise(args.dialect)
        except ValueError:
            _error(f"unknown SQL dialect {args.dialect!r}")
            return EXIT_USAGE
    policy_path = args.policy or (DEFAULT_POLICY if Path(DEFAULT_POLICY).is_file() else None)
    if policy_path is not None and not Path(policy_path).is_file():
        _error(f"no such policy file: {policy_path}")
        return EXIT_USAGE
    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        _error("invalid policy:\n" + "\n".join(exc.problems))
        return EXIT_USAGE
    tags_path = args.tags or DEFAULT_TAGS
    if not Path(tags_path).is_file():
        _error(f"no such tags catalog: {tags_path} (give --tags FILE)")
        return EXIT_USAGE
    try:
        catalog, warnings = read_tags_catalog(tags_path, policy.taxonomy)
    except CatalogError as exc:
        _error("invalid tags catalog:\n" + "\n".join(exc.problems))
        return EXIT_USAGE
    for warning in warnings:
        print(f"purpose-lineage check: warning: {warning}", file=sys.stderr)
    sources: list[SqlSource] = []
    for name in _expand(args.files):
        try:
            sources.append(SqlSource(name, Path(name).read_text(encoding="utf-8"), args.dialect))
        except (OSError, UnicodeDecodeError) as exc:
            _error(f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}")
            return EXIT_USAGE
    if args.dags:
        from purpose_lineage.cli.dag_sources import DagLoadError, dag_sources

        if not Path(args.dags).is_dir():
            _error(f"no such DAG folder: {args.dags}")
            return EXIT_USAGE
        try:
            sources += dag_sources(args.dags, default_dialect=args.dialect)
        except DagLoadError as exc:
            _error("cannot load DAGs:\n" + "\n".join(exc.problems))
            return EXIT_USAGE
    result = evaluate_pipeline(
        sources, policy, catalog, dialect=args.dialect, allow_unknown=args.allow_unknown
    )
    policy_name = str(policy_path) if policy_path else str(DEFAULT_POLICY_PATH)
    if args.format == "json":
        print(dumps(to_json(result, policy_file=policy_name, tags_file=str(tags_path))))
    elif args.format == "sarif":
        from purpose_lineage import __version__

        print(dumps(to_sarif(result, policy, version=__version__)))
    else:
        print(to_text(result, colour=use_colour(sys.stdout)))
    return EXIT_FAIL if result.verdict == "fail" else EXIT_OK


def _expand(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        path = Path(name)
        out += [str(p) for p in sorted(path.rglob("*.sql"))] if path.is_dir() else [name]
    return list(dict.fromkeys(out))
