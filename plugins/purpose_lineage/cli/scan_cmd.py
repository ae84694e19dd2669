"""``purpose-lineage scan``: find untagged contact identifiers in a database.

Samples every table (or ``--tables``), prefilters inside the warehouse and validates a
bounded sample in Python. Prints counts and masked examples only, never a value. A
progress bar goes to stderr when it is a terminal. Exit codes: 0 scanned, 1 invalid
input, unreadable tables or (with ``--fail-on-findings``) identifiers found, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO


def register(sub: argparse._SubParsersAction) -> None:
    from purpose_lineage.cli import add_format_option

    p = sub.add_parser(
        "scan",
        help="detect untagged phone numbers, e-mail addresses and hashed identifiers",
        description="Sample tables inside the warehouse and report columns that carry contact identifiers "
        "(counts and masked examples only).",
    )
    p.add_argument("--db", required=True, help="duckdb:///path.duckdb or postgresql://user@host:5432/db")
    p.add_argument("--tables", default="", help="comma-separated table or schema.table names (default: all)")
    p.add_argument("--sample", type=_positive, default=10_000, help="rows sampled per table (default: 10000)")
    p.add_argument(
        "--validate", type=_positive, default=100, help="values per column and class validated (default: 100)"
    )
    p.add_argument("--regions", default="", help="regions for national phone formats, e.g. US,GB,DE")
    p.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    p.add_argument("--fail-on-findings", action="store_true", help="exit 1 when identifiers are found")
    p.add_argument(
        "--store",
        default="",
        help="also record detected tags (purpose 'unknown', source 'detected') in this lineage store URL",
    )
    add_format_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from purpose_lineage.cli import EXIT_FAIL, EXIT_OK
    from purpose_lineage.detect.phones import DEFAULT_REGIONS
    from purpose_lineage.detect.scan import scan
    from purpose_lineage.detect.tags import findings_to_tags
    from purpose_lineage.errors import DetectionError

    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    regions = tuple(r.strip().upper() for r in args.regions.split(",") if r.strip()) or DEFAULT_REGIONS
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress)
    try:
        report = scan(
            args.db,
            tables=tables or None,
            sample_rows=args.sample,
            validate_limit=args.validate,
            regions=regions,
            progress=bar.update,
        )
    except DetectionError as exc:
        bar.finish()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    bar.finish()
    if args.store:
        from purpose_lineage.store import open_store

        recorded = findings_to_tags(report.findings)
        with open_store(args.store) as store:
            store.record_tags(recorded)
        print(f"recorded {len(recorded)} detected tags in the lineage store", file=sys.stderr)
    if args.format == "json":
        doc = report.to_dict()
        doc["database"] = _safe_url(args.db)
        doc["tags"] = [
            {"table": t.column.table, "column": t.column.column, "category": t.category, "purpose": t.purpose,
             "source": t.source.value}
            for t in findings_to_tags(report.findings)
        ]  # fmt: skip
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(render_text(report, _safe_url(args.db)))
    if report.errors or (args.fail_on_findings and report.identifiers):
        return EXIT_FAIL
    return EXIT_OK


def render_text(report, database: str) -> str:
    """The text report: a summary line, one row per identifier column, then errors."""
    lines = [
        f"Scanned {database}: {len(report.tables)} tables, {len(report.findings)} columns, "
        f"{report.values:,} values sampled in {report.seconds:.2f} s "
        f"({report.values / report.seconds if report.seconds else 0:,.0f} values/s), "
        f"{report.validated:,} validated in Python."
    ]
    found = sorted(report.identifiers, key=lambda f: (f.table, f.column))
    if found:
        lines.append("")
        lines.append(f"{len(found)} column(s) carry contact identifiers:")
        header = ("COLUMN", "CLASS", "CONF", "VALID", "SHARE", "REGION", "EXAMPLES")
        rows = [
            (
                f"{f.table}.{f.column}",
                f.detected.value,
                f"{f.confidence:.2f}",
                f"{f.valid}/{f.validated}",
                f"{f.fraction:.0%}",
                f.region or "-",
                ", ".join(f.examples) or "-",
            )
            for f in found
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
        for r in (header, *rows):
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    else:
        lines.append("No contact identifiers found.")
    if report.errors:
        lines.append("")
        lines.append(f"{len(report.errors)} table(s) could not be scanned:")
        lines.extend(f"  {table}: {message}" for table, message in sorted(report.errors.items()))
    return "\n".join(lines)


class ProgressBar:
    """A one-line bar on a terminal; silent when the stream is not a TTY (logs, pipes)."""

    WIDTH = 28

    def __init__(self, stream: TextIO, *, enabled: bool = True):
        self.stream = stream
        self.enabled = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.drawn = False

    def update(self, done: int, total: int, table: str) -> None:
        if not self.enabled or total <= 0:
            return
        filled = self.WIDTH * done // total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r\x1b[2Kscan [{bar}] {done}/{total} tables {elapsed:5.1f}s {table[:40]}")
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.drawn = False


def _safe_url(url: str) -> str:
    from purpose_lineage.detect.warehouse import redact_url

    return redact_url(url)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
