"""Detection benchmark: quality on the labelled corpus, throughput, and a 100-table scan.

Run ``.venv/bin/python benchmarks/detect.py`` (``--quick`` finishes in under a minute).
Every number is set against a naive per-value Python loop (phonenumbers + email-validator
on every value, majority vote per column) measured in the same run:

1. precision / recall / F1 per class on tests/fixtures/detect/corpus.jsonl (DuckDB);
2. values classified per second end to end, on one table read whole (every value goes
   through the in-warehouse prefilter; a bounded sample is validated in Python);
3. wall time of ``purpose-lineage scan`` over a 100-table DuckDB database (fresh process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "purpose_lineage.cli"]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "detect"))

import detect_corpus  # noqa: E402
import duckdb  # noqa: E402
import generate_corpus  # noqa: E402
import pandas as pd  # noqa: E402
import phonenumbers  # noqa: E402
from email_validator import EmailNotValidError, validate_email  # noqa: E402

from purpose_lineage.detect.duckdb_sampler import DuckDBWarehouse  # noqa: E402
from purpose_lineage.detect.scan import scan  # noqa: E402


# ---------------------------------------------------------------- the naive baseline
def naive_value(value: str) -> str:
    """phonenumbers (region US unless the value has +) and email-validator on one value."""
    try:
        if phonenumbers.is_valid_number(phonenumbers.parse(value, None if value.startswith("+") else "US")):
            return "phone"
    except phonenumbers.NumberParseException:
        pass
    try:
        validate_email(value, check_deliverability=False)
        return "email"
    except EmailNotValidError:
        return "none"


def naive_column(values: list) -> str:
    present = [str(v) for v in values if v is not None]
    if not present:
        return "none"
    votes = [naive_value(v) for v in present]
    for cls in ("phone", "email"):
        if votes.count(cls) >= 0.5 * len(present):
            return cls
    return "none"


# ---------------------------------------------------------------- 1. quality
def bench_quality() -> dict:
    columns = detect_corpus.load()
    tables = detect_corpus.layout(columns)
    con = duckdb.connect()
    detect_corpus.load_duckdb(con, tables)
    expected = detect_corpus.truth(tables)
    t = time.perf_counter()
    report = scan(DuckDBWarehouse(connection=con), confirm_hashes=detect_corpus.confirm_hook())
    ours_s = time.perf_counter() - t
    ours = detect_corpus.score({(f.table, f.column): f.detected.value for f in report.findings}, expected)
    t = time.perf_counter()
    naive_pred = {k: naive_column(spec["values"]) for k, spec in expected.items()}
    naive_s = time.perf_counter() - t
    naive = detect_corpus.score(naive_pred, expected)
    fp_neg = sum(1 for k, s in expected.items() if s["label"] == "none" and naive_pred[k] != "none")
    ours_fp_neg = sum(
        1 for f in report.findings if expected[(f.table, f.column)]["label"] == "none" and f.is_identifier
    )
    con.close()
    return {
        "columns": len(columns),
        "values": report.values,
        "ours": ours,
        "ours_seconds": ours_s,
        "ours_false_positives_on_negatives": ours_fp_neg,
        "naive": naive,
        "naive_seconds": naive_s,
        "naive_false_positives_on_negatives": fp_neg,
    }


# ---------------------------------------------------------------- data for 2 and 3
def pools(rng: random.Random, n: int) -> dict[str, list[str]]:
    corpus = generate_corpus.Corpus(rng)
    regions = generate_corpus.NATIONAL_REGIONS
    phones_intl, phones_nat = [], []
    while len(phones_intl) < n:
        region = rng.choice(regions)
        num = generate_corpus.random_number(rng, region, phonenumbers.PhoneNumberType.MOBILE)
        phones_intl.append(generate_corpus.write(num, rng.choice(generate_corpus.INTL_STYLES), rng))
        us = generate_corpus.random_number(rng, "US", phonenumbers.PhoneNumberType.FIXED_LINE)
        phones_nat.append(generate_corpus.write(us, rng.choice(["national", "national_dashes"]), rng))
    emails = [generate_corpus.address(rng) for _ in range(n)]
    return {
        "phone": phones_intl,
        "phone_us": phones_nat,
        "email": emails,
        "email_display": [f"{rng.choice(generate_corpus.FIRST).title()} <{e}>" for e in emails],
        "notes": generate_corpus.sentences(corpus, lambda: generate_corpus.address(rng))[:50] * (n // 50 + 1),
        "zip": [f"{rng.randint(501, 99950):05d}" for _ in range(n)],
        "order_ref": [f"ORD-{rng.randint(2015, 2024)}-{rng.randint(1, 999999):06d}" for _ in range(n)],
    }


POOL = 4_000  # distinct values per kind, drawn at random into every table

#: (column name, label, SQL over row number i and pool tables)
PALETTE = [
    ("phone", "phone", "phone"),
    ("mobile_us", "phone", "phone_us"),
    ("email", "email", "email"),
    ("contact", "email", "email_display"),
    ("notes", "none", "notes"),
    ("zip", "none", "zip"),
    ("order_ref", "none", "order_ref"),
    ("created_epoch", "none", "CAST(1600000000 + i * 17 AS BIGINT)"),
    ("request_id", "none", "CAST(uuid() AS VARCHAR)"),
    ("content_sha256", "none", "sha256(CAST(i AS VARCHAR))"),
    ("amount", "none", "CAST(i % 99991 AS DECIMAL(10, 2))"),
]


def build_db(path: Path, tables: int, rows: int, n_pool: int, seed: int = 1) -> dict[tuple[str, str], str]:
    rng = random.Random(seed)
    con = duckdb.connect(str(path))
    made = pools(rng, n_pool)
    for name, values in made.items():
        frame = pd.DataFrame({"k": range(n_pool), "v": values[:n_pool]})
        con.register("frame", frame)
        con.execute(f"CREATE TABLE pool_{name} AS SELECT CAST(k AS INTEGER) k, v FROM frame")
        con.unregister("frame")
    labels: dict[tuple[str, str], str] = {}
    for t in range(tables):
        chosen = rng.sample(PALETTE, 7)
        neutral = t % 2 == 1  # half the tables with names that say nothing
        selects, joins = ["i AS id"], []
        for j, (name, label, src) in enumerate(chosen):
            col = f"c{j}" if neutral else name
            if src in ("phone", "phone_us", "email", "email_display", "notes", "zip", "order_ref"):
                alias = f"p{j}"
                joins.append(
                    f"JOIN pool_{src} {alias} ON {alias}.k = CAST(hash(i, {j}, {t}) % {n_pool} AS INTEGER)"
                )
                selects.append(f"{alias}.v AS {col}")
            else:
                selects.append(f"{src} AS {col}")
            labels[(f"main.t{t:03d}", col)] = label
        con.execute(
            f"CREATE TABLE t{t:03d} AS SELECT {', '.join(selects)} FROM range({rows}) r(i) {' '.join(joins)}"
        )
    for name in made:
        con.execute(f"DROP TABLE pool_{name}")
    con.close()
    return labels


# ---------------------------------------------------------------- 2. throughput
def bench_throughput(tmp: Path, rows: int, naive_values: int) -> dict:
    path = tmp / "throughput.duckdb"
    build_db(path, tables=1, rows=rows, n_pool=POOL, seed=2)
    con = duckdb.connect(str(path), read_only=True)
    wh = DuckDBWarehouse(connection=con)
    t, cpu = time.perf_counter(), time.process_time()
    report = scan(wh, sample_rows=rows)
    ours_s, ours_cpu = time.perf_counter() - t, time.process_time() - cpu
    t = time.perf_counter()
    fetched = con.execute(f"SELECT * FROM t000 LIMIT {max(1, naive_values // 8)}").fetchall()
    values = [str(v) for row in fetched for v in row if v is not None][:naive_values]
    for v in values:
        naive_value(v)
    naive_s = time.perf_counter() - t
    con.close()
    ours_rate = report.values / ours_s
    naive_rate = len(values) / naive_s
    return {
        "rows": rows,
        "values": report.values,
        "validated_in_python": report.validated,
        "ours_seconds": ours_s,
        "ours_cpu_seconds": ours_cpu,
        "ours_values_per_s": ours_rate,
        "naive_values": len(values),
        "naive_values_per_s": naive_rate,
        "speedup": ours_rate / naive_rate,
    }


# ---------------------------------------------------------------- 3. 100 tables
def bench_100_tables(tmp: Path, rows: int, naive_tables: int) -> dict:
    path = tmp / "warehouse.duckdb"
    t = time.perf_counter()
    labels = build_db(path, tables=100, rows=rows, n_pool=POOL, seed=3)
    build_s = time.perf_counter() - t
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    t, cpu = time.perf_counter(), _children_cpu()
    out = subprocess.run(
        [*CLI, "scan", "--db", f"duckdb:///{path}", "--format", "json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    wall, scan_cpu = time.perf_counter() - t, _children_cpu() - cpu
    if out.returncode != 0:
        raise SystemExit(f"scan failed: {out.stderr}")
    doc = json.loads(out.stdout)
    predicted = {(f["table"], f["column"]): f["class"] for f in doc["findings"]}
    correct = sum(1 for k, label in labels.items() if predicted.get(k, "none") == label)
    # the naive loop over the same sampled rows, measured on a few tables, scaled to 100
    con = duckdb.connect(str(path), read_only=True)
    t = time.perf_counter()
    naive_values = 0
    for i in range(naive_tables):
        rel = con.execute(f"SELECT * FROM t{i:03d} USING SAMPLE reservoir(10000 ROWS) REPEATABLE (42)")
        for column in zip(*rel.fetchall(), strict=False):
            naive_column(list(column))
            naive_values += len(column)
    naive_s = (time.perf_counter() - t) * 100 / naive_tables
    con.close()
    return {
        "tables": 100,
        "rows_per_table": rows,
        "build_seconds": build_s,
        "scan_wall_seconds": wall,
        "scan_cpu_seconds": scan_cpu,
        "scan_seconds_in_process": doc["seconds"],
        "values_sampled": doc["values_sampled"],
        "columns": len(labels),
        "columns_correct": correct,
        "naive_seconds_100_tables": naive_s,
        "naive_measured_tables": naive_tables,
        "speedup": naive_s / wall,
    }


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, finishes in under a minute")
    args = parser.parse_args()
    rows_tp, naive_n, rows_100, naive_tables = (
        (150_000, 4_000, 3_000, 2) if args.quick else (2_000_000, 40_000, 50_000, 5)
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pl-detect-bench-") as d:
        tmp = Path(d)
        q = bench_quality()
        print(f"1. quality on the corpus ({q['columns']} columns, {q['values']:,} values)")
        print(f"   {'class':<18} {'ours P/R/F1':>20}   {'naive P/R/F1':>20}")
        for cls in ("phone", "email", "hashed_identifier", "none"):
            o, n = q["ours"][cls], q["naive"][cls]
            print(
                f"   {cls:<18} {o['precision']:6.3f} {o['recall']:6.3f} {o['f1']:6.3f}   "
                f"{n['precision']:6.3f} {n['recall']:6.3f} {n['f1']:6.3f}"
            )
        print(
            f"   false positives on hard negatives: ours {q['ours_false_positives_on_negatives']}, "
            f"naive {q['naive_false_positives_on_negatives']}"
        )
        print(f"   time: ours {q['ours_seconds']:.2f} s, naive {q['naive_seconds']:.2f} s")
        tp = bench_throughput(tmp, rows_tp, naive_n)
        print(f"2. throughput, one table read whole ({tp['rows']:,} rows, {tp['values']:,} values)")
        print(
            f"   ours {tp['ours_values_per_s']:,.0f} values/s ({tp['ours_seconds']:.2f} s wall, "
            f"{tp['ours_cpu_seconds']:.2f} s CPU, {tp['validated_in_python']:,} validated in Python)"
        )
        print(
            f"   naive {tp['naive_values_per_s']:,.0f} values/s (on {tp['naive_values']:,} values); "
            f"ratio x{tp['speedup']:.0f}"
        )
        h = bench_100_tables(tmp, rows_100, naive_tables)
        print(f"3. 100-table DuckDB database ({h['rows_per_table']:,} rows x 8 columns per table)")
        print(
            f"   purpose-lineage scan: {h['scan_wall_seconds']:.2f} s wall, "
            f"{h['scan_cpu_seconds']:.2f} s CPU (fresh process, {h['scan_seconds_in_process']:.2f} s in scan)"
        )
        print(
            f"   {h['values_sampled']:,} values sampled, {h['columns_correct']}/{h['columns']} columns right"
        )
        print(
            f"   naive loop over the same 10k-row samples: {h['naive_seconds_100_tables']:.1f} s "
            f"(measured on {h['naive_measured_tables']} tables, scaled to 100); ratio x{h['speedup']:.0f}"
        )
    print(
        f"total {time.perf_counter() - started:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
