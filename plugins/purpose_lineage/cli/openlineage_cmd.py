"""``purpose-lineage openlineage``: status and replay of the spooled OpenLineage events."""

from __future__ import annotations

import argparse
import json
from typing import Any

SPOOL_TYPES = ("purpose_lineage.ol.spool_transport.SpoolingTransport", "purpose_lineage_spool")


def register(sub: argparse._SubParsersAction) -> None:
    from purpose_lineage.cli import add_format_option

    p = sub.add_parser("openlineage", help="status and replay of spooled OpenLineage events")
    p.add_argument("--spool-dir", help="spool folder (default: from the [openlineage] transport)")
    p.add_argument(
        "--transport",
        help='backend transport as JSON, e.g. \'{"type": "http", "url": ...}\' '
        "(default: the spooling transport's backend in the [openlineage] transport)",
    )
    add_format_option(p)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser("status", help="events waiting in the spool; exit 1 if any")
    actions.add_parser("replay", help="forward spooled events to the backend, each exactly once")
    p.set_defaults(handler=run)


def spool_settings(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """(spool folder, backend transport) pairs: the options, else every spooling transport in
    the provider's ``[openlineage] transport`` (itself, or the children of a composite)."""
    if args.spool_dir and args.transport:
        return [(args.spool_dir, json.loads(args.transport))]
    from airflow.providers.openlineage.conf import transport

    found = [t for t in _transports(transport()) if t.get("type") in SPOOL_TYPES and t.get("spool_dir")]
    if args.spool_dir:
        found = [t for t in found if t["spool_dir"] == args.spool_dir] or [{"spool_dir": args.spool_dir}]
    backend = json.loads(args.transport) if args.transport else None
    return [(t["spool_dir"], backend or dict(t.get("transport") or {})) for t in found]


def _transports(config: dict[str, Any]) -> list[dict[str, Any]]:
    if config.get("type") != "composite":
        return [config]
    children = config.get("transports") or []
    return list(children.values() if isinstance(children, dict) else children)


def run(args: argparse.Namespace) -> int:
    from purpose_lineage.ol.spool_transport import EventSpool, backend_transport, replay

    settings = spool_settings(args)
    if not settings:
        print("error: no spool folder: pass --spool-dir or configure the spooling transport")
        return 1
    results = []
    for spool_dir, backend in settings:
        spool = EventSpool(spool_dir)
        if args.action == "replay":
            if not backend:
                print(f"error: no backend transport for {spool_dir}: pass --transport")
                return 1
            result = replay(spool, backend_transport(backend))
        else:
            result = {"pending": len(spool.pending())}
        results.append({"spool_dir": spool_dir, **result})
    total = {k: sum(r[k] for r in results) for k in results[0] if k != "spool_dir"}
    if args.format == "json":
        print(json.dumps(total if len(results) == 1 else {**total, "spools": results}, indent=2))
    else:
        for r in results if len(results) > 1 else []:
            print(f"{r['spool_dir']}: " + ", ".join(f"{k} {v}" for k, v in r.items() if k != "spool_dir"))
        for key, value in total.items():
            print(f"{key:<10} {value}")
    return 1 if total.get("pending") else 0
