"""Fuzz test support: example budget from PURPOSE_LINEAGE_FUZZ_EXAMPLES, and a count of inputs run.

Each fuzzer calls ``count(name)`` once per input it feeds the code under test; the totals are
printed in pytest's terminal summary ("fuzz inputs run") and, when PURPOSE_LINEAGE_FUZZ_REPORT
names a file, written there as JSON (the soak command in docs/reference/reliability.md uses it).
"""

from __future__ import annotations

import json
import os

from fuzz_support import COUNTS


def pytest_terminal_summary(terminalreporter) -> None:
    if not COUNTS:
        return
    terminalreporter.section("fuzz inputs run")
    for name, n in sorted(COUNTS.items()):
        terminalreporter.write_line(f"{name}: {n}")
    terminalreporter.write_line(f"total: {sum(COUNTS.values())}")
    report = os.environ.get("PURPOSE_LINEAGE_FUZZ_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as f:
            json.dump(dict(sorted(COUNTS.items())), f, indent=2)
