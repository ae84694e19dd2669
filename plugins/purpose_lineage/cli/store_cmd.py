"""``purpose-lineage store``: status, replay of spooled writes, migrations, and the guard's paths."""

from __future__ import annotations

import argparse
import json
import os


def register(sub: argparse._SubParsersAction) -> None:
    from purpose_lineage.cli import add_format_option

    p = sub.add_parser("store", help="inspect the lineage store, replay spooled writes, migrate")
    p.add_argument("--url", help="store URL (default: PURPOSE_LINEAGE_STORE_URL, then the Airflow config)")
    p.add_argument("--spool-dir", help="spool folder (default: the store's)")
    add_format_option(p)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser("status", help="schema version and spooled writes")
    actions.add_parser("drain", help="replay spooled writes now")
    actions.add_parser("migrate", help="bring the schema to the latest version")
    paths = actions.add_parser("paths", help="paths from tagged columns into a sink; exit 1 if any")
    paths.add_argument("sink")
    paths.add_argument("--purpose", action="append", help="purpose key (prefix match); repeatable")
    paths.add_argument("--category", action="append", help="data category key (prefix match); repeatable")
    paths.add_argument("--depth", type=int, default=20)
    p.set_defaults(handler=run)


def _open(args: argparse.Namespace):
    from pathlib import Path

    from purpose_lineage.store import open_store

    url = args.url or os.environ.get("PURPOSE_LINEAGE_STORE_URL")
    spool = Path(args.spool_dir) if args.spool_dir else None
    if not url:
        from purpose_lineage import config

        url = config.store_url()
        spool = spool or config.spool_dir()
    return open_store(url, spool_dir=spool)


def run(args: argparse.Namespace) -> int:
    from purpose_lineage.errors import PurposeLineageError

    try:
        store = _open(args)
        if args.action == "paths":
            found = store.paths_into(
                args.sink, purposes=args.purpose, categories=args.category, depth=args.depth
            )
            out = [
                [
                    {
                        "source": str(e.source),
                        "target": str(e.target),
                        "kind": e.kind.value,
                        "subtype": e.subtype.value,
                    }
                    for e in p
                ]
                for p in found
            ]
            if args.format == "json":
                print(json.dumps(out, indent=2))
            else:
                for p in found:
                    print(
                        " -> ".join(
                            [str(p[0].source)] + [f"[{e.kind.value}/{e.subtype.value}] {e.target}" for e in p]
                        )
                    )
                print(f"{len(found)} path(s) into {args.sink}")
            return 1 if found else 0
        if args.action == "drain":
            result = {"applied": store.drain(wait=30.0), "pending": store.pending()}
        elif args.action == "migrate":
            result = {"schema_version": store.migrate()}
        else:
            failed = len(store.spool.failed()) if hasattr(store, "spool") else 0
            result = {
                "url_scheme": store.url.split(":", 1)[0],
                "schema_version": store.schema_version(),
                "pending": store.pending(),
                "failed": failed,
            }
    except PurposeLineageError as exc:
        print(f"error: {exc}")
        return 1
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:<15} {value}")
    return 1 if result.get("pending") else 0
