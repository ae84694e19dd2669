"""Benchmark: ``purpose-lineage check`` over the check corpus, and a long generated pipeline.

The check is analysis-bound. Ratios are against a baseline measured in the same run:

* ``analyze``: the lineage analyser alone over the same SQL (one call per source), the
  unavoidable part; the ratio shows what one-pipeline analysis, placement of unknowns,
  evaluation and location add on top of it.

Usage: .venv/bin/python benchmarks/check.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))

from purpose_lineage.cli.tags_catalog import parse_tags_catalog  # noqa: E402
from purpose_lineage.core.lineage import analyze  # noqa: E402
from purpose_lineage.core.pipeline import SqlSource, TagsCatalog, evaluate_pipeline  # noqa: E402
from purpose_lineage.core.policy import load_policy  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "check"


def corpus() -> list[tuple[list[SqlSource], TagsCatalog]]:
    catalogs = yaml.safe_load((FIXTURES / "_tags.yaml").read_text())
    out = []
    for path in sorted(FIXTURES.glob("[!_]*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            tags = case.get("tags", "social")
            catalog, _ = parse_tags_catalog(yaml.safe_dump(catalogs[tags] if isinstance(tags, str) else tags))
            files = case.get("files") or {f"{case['name']}.sql": case["sql"]}
            sources = [SqlSource(n, s, case.get("dialect", "duckdb")) for n, s in files.items()]
            out.append((sources, catalog))
    return out


def long_pipeline(n: int) -> tuple[list[SqlSource], TagsCatalog]:
    """``n`` files: a chain of staging tables over users_2fa, joins on hashes, an ad sink at the end."""
    _, catalog = corpus()[0]
    sources = [
        SqlSource(
            "000.sql",
            "CREATE TABLE t0 AS SELECT user_id, sha256(phone_number) AS h, country FROM users_2fa",
            "duckdb",
        )
    ]
    for i in range(1, n - 1):
        sql = (
            f"CREATE TABLE t{i} AS SELECT a.user_id, a.h, c.advertiser AS country FROM t{i - 1} a "
            f"LEFT JOIN campaigns c ON c.country = a.country WHERE a.h IS NOT NULL"
        )
        sources.append(SqlSource(f"{i:03}.sql", sql, "duckdb"))
    sources.append(
        SqlSource(f"{n - 1:03}.sql", f"INSERT INTO ad_audience_x SELECT user_id FROM t{n - 2}", "duckdb")
    )
    return sources, catalog


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a shorter pipeline (< 60 s)")
    args = parser.parse_args()
    repeat, length = (1, 50) if args.quick else (5, 200)
    policy = load_policy()
    cases = corpus()
    statements = sum(len(analyze(s.sql, dialect=s.dialect)) for srcs, _ in cases for s in srcs)

    def base_corpus() -> None:
        for srcs, cat in cases:
            for s in srcs:
                analyze(s.sql, dialect=s.dialect, schema=dict(cat.schemas) or None)

    def check_corpus() -> None:
        for srcs, cat in cases:
            evaluate_pipeline(srcs, policy, cat)

    long_sources, long_catalog = long_pipeline(length)

    def base_long() -> None:
        for s in long_sources:
            analyze(s.sql, dialect=s.dialect, schema=dict(long_catalog.schemas))

    def check_long() -> None:
        result = evaluate_pipeline(long_sources, policy, long_catalog)
        assert [f.violation.sink for f in result.findings] == ["ad_audience_x"]

    for label, base, check, n in [
        (f"corpus ({len(cases)} pipelines, {statements} statements)", base_corpus, check_corpus, statements),
        (f"one pipeline of {length} files", base_long, check_long, length),
    ]:
        b, c = timed(base, repeat), timed(check, repeat)
        print(
            f"{label}: check {c * 1000:.0f} ms ({n / c:.0f} statements/s), analyze alone {b * 1000:.0f} ms, "
            f"ratio {c / b:.2f}x"
        )


if __name__ == "__main__":
    main()
