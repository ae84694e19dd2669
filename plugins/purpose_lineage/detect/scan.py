"""``scan()``: sample every table, prefilter in the warehouse, validate in Python.

The warehouse query of the next table runs in a worker thread while Python validates
the current one (DuckDB and psycopg2 release the GIL while a query runs). A table that
fails is reported in ``ScanReport.errors`` (message scrubbed of anything that looks like
an identifier) and the scan goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from purpose_lineage.detect.classify import MIN_FRACTION, classify_column
from purpose_lineage.detect.mask import scrub
from purpose_lineage.detect.model import ColumnSample, ConfirmHashes, Finding
from purpose_lineage.detect.phones import DEFAULT_REGIONS
from purpose_lineage.detect.warehouse import (
    DEFAULT_SAMPLE_ROWS,
    DEFAULT_VALIDATE_LIMIT,
    TableInfo,
    Warehouse,
    open_warehouse,
    select_tables,
)
from purpose_lineage.errors import DetectionError

log = logging.getLogger(__name__)

#: ``progress(done, total, table)`` after each table.
Progress = Callable[[int, int, str], None]


@dataclass
class ScanReport:
    """Findings for every scanned column, plus counts. Holds no raw values."""

    findings: list[Finding] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    values: int = 0
    validated: int = 0
    seconds: float = 0.0

    @property
    def identifiers(self) -> list[Finding]:
        return [f for f in self.findings if f.is_identifier]

    def to_dict(self) -> dict:
        return {
            "tables": self.tables,
            "columns": len(self.findings),
            "rows_sampled": self.rows,
            "values_sampled": self.values,
            "values_validated": self.validated,
            "seconds": round(self.seconds, 3),
            "values_per_second": round(self.values / self.seconds) if self.seconds else None,
            "findings": [f.to_dict() for f in self.identifiers],
            "none": [f.to_dict() for f in self.findings if not f.is_identifier],
            "errors": self.errors,
        }


def scan(
    target: str | Warehouse,
    *,
    tables: Sequence[str] | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    validate_limit: int = DEFAULT_VALIDATE_LIMIT,
    regions: Sequence[str] = DEFAULT_REGIONS,
    confirm_hashes: ConfirmHashes | None = None,
    min_fraction: float = MIN_FRACTION,
    progress: Progress | None = None,
) -> ScanReport:
    """Scan a database (URL or open :class:`Warehouse`) and classify every scannable column.

    Args:
        target: ``duckdb:///path.duckdb``, ``postgresql://user@host/db`` or a Warehouse.
        tables: ``table`` or ``schema.table`` names; all tables when empty.
        sample_rows: rows sampled per table (the prefilter runs on all of them).
        validate_limit: prefilter matches per column and class validated in Python.
        regions: regions tried for national-format phone numbers.
        confirm_hashes: the fingerprints hook confirming hex digests (see ``hashes``).
    """
    if sample_rows < 1 or validate_limit < 1:
        raise DetectionError("sample_rows and validate_limit must be positive")
    started = time.perf_counter()
    warehouse = open_warehouse(target) if isinstance(target, str) else target
    report = ScanReport()
    try:
        chosen = select_tables(warehouse.tables(), tables)
        report.tables = [t.qualified for t in chosen]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pl-detect-sample") as pool:

            def fetch(t: TableInfo) -> Future:
                return pool.submit(warehouse.sample, t, rows=sample_rows, validate_limit=validate_limit)

            pending = fetch(chosen[0]) if chosen else None
            for i, table in enumerate(chosen):
                current = pending
                pending = fetch(chosen[i + 1]) if i + 1 < len(chosen) else None
                try:
                    samples: list[ColumnSample] = current.result()
                except Exception as exc:  # one bad table must not stop the scan
                    report.errors[table.qualified] = f"{type(exc).__name__}: {scrub(str(exc))[:300]}"
                    log.warning("sampling %s failed: %s", table.qualified, report.errors[table.qualified])
                    samples = []
                report.rows += samples[0].rows if samples else 0
                for s in samples:
                    report.values += s.nonnull
                    report.validated += len(s.phone_values) + len(s.email_values) + len(s.hex_values)
                    report.findings.append(
                        classify_column(
                            s, regions=regions, confirm_hashes=confirm_hashes, min_fraction=min_fraction
                        )
                    )
                if progress is not None:
                    progress(i + 1, len(chosen), table.qualified)
    finally:
        if isinstance(target, str):
            warehouse.close()
    report.seconds = time.perf_counter() - started
    return report
