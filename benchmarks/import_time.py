"""Plugin import cost: what loading the plugin adds to every task process.

Measures, in fresh interpreters, `import airflow.plugins_manager` (the baseline a task
pays anyway) against the same plus `import purpose_lineage.plugin` and the plugin's
provider metadata, and prints the added time and the ratio. Also checks that loading
the plugin did not import the web app or Great Expectations.

    python benchmarks/import_time.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

BASELINE = "import airflow.plugins_manager"
PLUGIN = (
    "import airflow.plugins_manager, purpose_lineage.plugin, purpose_lineage.get_provider_info as g;"
    " g.get_provider_info()"
)
PROBE = (
    "import sys, json; " + PLUGIN + "; print(json.dumps({m: m in sys.modules for m in"
    " ('fastapi', 'great_expectations', 'purpose_lineage.api.app', 'fideslang', 'sqlglot')}))"
)


def _time(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    _time(BASELINE)  # warm the file cache
    base = [_time(BASELINE) for _ in range(runs)]
    plug = [_time(PLUGIN) for _ in range(runs)]
    b, p = statistics.median(base), statistics.median(plug)
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    )
    print(f"baseline import airflow.plugins_manager : {b * 1000:8.1f} ms (median of {runs})")
    print(f"with purpose_lineage plugin + provider : {p * 1000:8.1f} ms")
    print(f"added by the plugin                    : {(p - b) * 1000:8.1f} ms  ratio {p / b:.3f}x")
    print("heavy modules imported by loading the plugin:", {k: v for k, v in loaded.items() if v} or "none")


if __name__ == "__main__":
    main()
