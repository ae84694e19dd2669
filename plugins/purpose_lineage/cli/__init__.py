"""The ``purpose-lineage`` console script.

Each command lives in its own module with ``register(subparsers)``; heavy imports
happen inside the command so that ``--help`` stays instant.
Exit codes: 0 ok, 1 violation or invalid input, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def command_modules() -> list[str]:
    """Every ``cli/*_cmd.py`` module, so that a new command needs no registration line."""
    import pkgutil

    here = __path__  # type: ignore[name-defined]
    return sorted(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(here) if m.name.endswith("_cmd"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="purpose-lineage",
        description="Purpose limitation for Airflow pipelines: taxonomy, policy, lineage and checks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in command_modules():
        importlib.import_module(name).register(sub)
    return parser


def add_format_option(parser: argparse.ArgumentParser, *choices: str) -> None:
    parser.add_argument(
        "--format", choices=choices or ("text", "json"), default="text", help="output format (default: text)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
