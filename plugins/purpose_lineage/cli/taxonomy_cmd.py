"""``purpose-lineage taxonomy``: print fideslang keys, optionally filtered."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    from purpose_lineage.cli import add_format_option

    p = sub.add_parser("taxonomy", help="print data category and data use keys")
    p.add_argument("--kind", choices=("data_category", "data_use", "all"), default="all")
    p.add_argument("--filter", default="", help="only keys containing this text")
    add_format_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from purpose_lineage.core.taxonomy import default_taxonomy

    tax = default_taxonomy()
    kinds = ("data_category", "data_use") if args.kind == "all" else (args.kind,)
    rows = [
        {"kind": kind, "key": key}
        for kind in kinds
        for key in sorted(tax.keys(kind))
        if args.filter.lower() in key.lower()
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['kind']:<14} {row['key']}")
    return 0
