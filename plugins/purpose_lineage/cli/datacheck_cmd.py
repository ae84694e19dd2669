"""``purpose-lineage data-check``: build fingerprint sets and run data-level suites.

The fingerprint secret is read from an environment variable (``--secret-env``,
default ``PURPOSE_LINEAGE_FINGERPRINT_SECRET``), never from the command line.
Exit codes: 0 passed/built, 1 violation or the check could not run, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

SECRET_ENV = "PURPOSE_LINEAGE_FINGERPRINT_SECRET"


def register(sub: argparse._SubParsersAction) -> None:
    from purpose_lineage.cli import add_format_option

    p = sub.add_parser("data-check", help="fingerprint sets and data-level Great Expectations suites")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    run = actions.add_parser("run", help="validate a table against a suite in expectations/")
    run.add_argument("suite", help="suite name, e.g. ad_audience")
    run.add_argument("--table", required=True, help="(schema.)table to validate")
    run.add_argument(
        "--url", required=True, help="warehouse SQLAlchemy URL (duckdb:///..., postgresql://...)"
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="suite parameter, e.g. identifier_columns='[\"phone\"]' (repeatable)",
    )
    run.add_argument("--suites-dir", default=None)
    run.add_argument("--docs-dir", default=None, help="where Data Docs are built (default: a temp dir)")
    run.add_argument("--secret-env", default=SECRET_ENV, help=f"env var holding the secret ({SECRET_ENV})")
    add_format_option(run)
    run.set_defaults(handler=run_check)

    build = actions.add_parser("build", help="build or refresh a fingerprint table")
    build.add_argument("--url", required=True)
    build.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="SPEC",
        help="TABLE:COLUMN:KIND[:USER_COLUMN] or a JSON object with query/column/kind/user_column",
    )
    build.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="SPEC",
        help="identifiers to leave out (e.g. marketing contacts with consent)",
    )
    build.add_argument("--table", default=None, help="fingerprint table (default pl_security_fingerprints)")
    build.add_argument("--region", default="US", help="default region for national phone formats")
    build.add_argument("--secret-env", default=SECRET_ENV)
    add_format_option(build)
    build.set_defaults(handler=build_set)


def _source(spec: str):
    from purpose_lineage.gx.fingerprints import IdentifierSource

    if spec.lstrip().startswith("{"):
        return IdentifierSource(**json.loads(spec))
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise ValueError(f"bad source {spec!r}: use TABLE:COLUMN:KIND[:USER_COLUMN] or JSON")
    return IdentifierSource(*parts)


def _params(items: list[str]) -> dict:
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"bad --param {item!r}: use NAME=JSON")
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    return params


def run_check(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from purpose_lineage.errors import PurposeLineageError
    from purpose_lineage.gx.run import run_suite

    try:
        result = run_suite(
            args.suite,
            table=args.table,
            warehouse_url=args.url,
            params=_params(args.param),
            secret=os.environ.get(args.secret_env),
            suites_dir=args.suites_dir,
            data_docs_dir=args.docs_dir,
        )
    except (PurposeLineageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(asdict(result), indent=2, default=str))
    else:
        print(
            f"{result.suite} on {result.table}: {'passed' if result.passed else 'FAILED'}, "
            f"{result.affected_count} identifiers affected"
        )
        for d in result.details:
            print(f"  {'ok  ' if d.success else 'FAIL'} {d.expectation}: {d.observed_value}")
        print(f"Data Docs: {result.data_docs_path}")
    return 0 if result.passed else 1


def build_set(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from purpose_lineage.errors import PurposeLineageError
    from purpose_lineage.gx.fingerprints import DEFAULT_TABLE, build_fingerprint_table

    try:
        report = build_fingerprint_table(
            args.url,
            sources=[_source(s) for s in args.source],
            exclude=[_source(s) for s in args.exclude],
            secret=os.environ.get(args.secret_env),
            table=args.table or DEFAULT_TABLE,
            default_region=args.region,
        )
    except (PurposeLineageError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(asdict(report), indent=2))
    else:
        print(
            f"{report.table}: {report.identities} identities, {report.fingerprints} fingerprints, "
            f"{report.excluded} excluded by consent, {report.rejected} rejected, {report.seconds} s"
        )
    return 0
