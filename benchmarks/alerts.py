"""Alert costs: building and rendering, scrubbing, duplicate claims, concurrent delivery.

Each line compares with a baseline measured in the same run:

- build + render (text, HTML, Slack, webhook) of the incident alert vs ``json.dumps`` of its
  webhook document;
- ``scrub()`` of a 1 KB error message vs one of its passes (the e-mail pattern alone);
- a claim in the SQLite ledger file and in the DuckDB lineage store vs an INSERT into an
  in-memory SQLite table;
- ``send_alert`` to 3 no-op channels (thread pool, ledger off) vs calling them in turn.

    python benchmarks/alerts.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

from purpose_lineage.notifications import render  # noqa: E402
from purpose_lineage.notifications import scrub as scrub_module  # noqa: E402
from purpose_lineage.notifications.delivery import send_alert  # noqa: E402
from purpose_lineage.notifications.ledger import AlertKey, SqliteLedger  # noqa: E402
from purpose_lineage.notifications.message import build_alert  # noqa: E402
from purpose_lineage.notifications.scrub import scrub  # noqa: E402
from tests.helpers.alert_data import incident_violations, leaky_error_text  # noqa: E402


def rate(fn: Callable[[int], None], seconds: float) -> float:
    """Calls per second of ``fn(i)`` over about ``seconds``."""
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn(n)
        n += 1
    return n / elapsed


def line(name: str, value: float, base: float, unit: str = "/s") -> None:
    print(f"{name:<44} {value:>12,.0f} {unit:<4} baseline {base:>12,.0f} {unit:<4} ratio {value / base:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.3 s per measure instead of 2 s")
    args = parser.parse_args()
    t = 0.3 if args.quick else 2.0
    violations = incident_violations()
    error = (leaky_error_text() + " ") * 4

    def build_render(i: int) -> None:
        a = build_alert(
            dag_id="acme",
            run_id=f"r{i}",
            task_id="guard",
            violations=violations,
            affected_count=2,
            ui_base_url="http://ui",
            error=error,
        )
        render.render_text(a), render.render_html(a), render.render_slack(a), render.render_webhook(a)

    doc = render.render_webhook(build_alert(dag_id="acme", run_id="r", violations=violations))
    line("build + render 4 formats (alerts)", rate(build_render, t), rate(lambda i: json.dumps(doc), t))

    text = error[:1000]
    email = scrub_module._EMAIL
    line(
        "scrub 1 KB error message (calls)",
        rate(lambda i: scrub(text), t),
        rate(lambda i: email.sub("x", text), t),
    )

    with tempfile.TemporaryDirectory() as tmp:
        mem = sqlite3.connect(":memory:")
        mem.execute("CREATE TABLE c (k TEXT PRIMARY KEY)")
        base = rate(lambda i: mem.execute("INSERT OR IGNORE INTO c VALUES (?)", (f"k{i}",)), t)
        ledger = SqliteLedger(Path(tmp) / "ledger.sqlite3")
        line(
            "claim, SQLite ledger file (claims)",
            rate(lambda i: ledger.claim(AlertKey("d", f"r{i}", "s", "f", "c")), t),
            base,
        )
        from purpose_lineage.store import open_store

        with open_store(f"duckdb:///{tmp}/lineage.duckdb", spool_dir=Path(tmp) / "spool") as store:
            store.schema_version()
            line(
                "claim, DuckDB lineage store (claims)",
                rate(lambda i: store.claim_alert(AlertKey("d", f"r{i}", "s", "f", "c")), t),
                base,
            )

    class Noop:
        def __init__(self, name: str):
            self.name = name

        def send(self, alert, *, timeout: float) -> None:
            pass

    channels = [Noop(f"noop:{i}") for i in range(3)]
    alert = build_alert(dag_id="acme", run_id="r", violations=violations)

    def in_turn(i: int) -> None:
        for c in channels:
            c.send(alert, timeout=1)

    line(
        "send_alert, 3 no-op channels (alerts)",
        rate(lambda i: send_alert(alert, channels), t),
        rate(in_turn, t),
    )


if __name__ == "__main__":
    main()
