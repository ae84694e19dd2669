"""Benchmark: the guard's data-level check (ExpectNoSecurityOnlyIdentifiers) on DuckDB.

For every (audience rows N, security identities M) it measures, each in a fresh
process so that one measurement's DuckDB cache and peak memory do not leak
into the next:

* ``gx``    -- ``run_suite("ad_audience")`` end to end: ephemeral GX context, DuckDB
  datasource, secret preflight, the count-only join, Data Docs;
* ``bare``  -- the same join as one hand-written DuckDB query (no GX), with the check's
  DuckDB settings (native fingerprints, memory cap): the baseline. The GX run's time is
  reported end to end and to its verdict (before Data Docs), and each ratio is printed;
* ``floor`` -- a semi-join on *precomputed* 64-bit fingerprints on both sides, the
  physical reference of STACK_NOTES (the check cannot use it: a sink holds raw values,
  and each needs its keyed hash computed, which is most of the check's time);
* ``stock`` -- GX's ``ExpectColumnValuesToNotBeInSet`` on a pandas datasource, with the
  sink's fingerprints precomputed into the dataframe and one fingerprint per identity
  in ``value_set`` (both generous to it). It takes minutes at full size, so it is
  measured at small sizes and extrapolated linearly (t = a + b*values + c*rows, least
  squares; one point has 20x the rows, so the per-row cost is fitted too), unless
  ``--full`` runs it for real at M=1M (both N, the 6M match keys: minutes each).

Every affected count is compared with the ground truth, counted on the generating integers
without any fingerprint: a wrong count stops the run.

Audience values are one third E.164, one third ``(NXX) NXX-XXXX``, one third sha256
hex of the E.164 form; about M/8e9 of them are security identities.

Both ``gx`` and ``bare`` compute sink fingerprints with the native extension
(:mod:`purpose_lineage.native`) when it builds, else with the SQL functions; each row
says which. ``--compare-sql`` also times the GX check with the SQL functions.

Usage: ``.venv/bin/python benchmarks/data_check.py [--quick | --full] [--workdir DIR [--reuse]]
[--fingerprints auto|off|required] [--compare-sql]``.
``--quick`` (N=500k, M=50k) finishes in under a minute on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))

SECRET = "benchmark-fingerprint-secret-0001"
FP_ROWS: dict[int, int] = {}  # identities -> fingerprint rows, filled by prepare()
PHONE = "'+1' || ((({i}) * {step}) % 8000000000 + 2000000000)::VARCHAR"
USER_STEP, AUDIENCE_STEP = 7919, 104729  # both prime to 8e9: every generated phone is distinct


def expected_affected(db: Path, n: int, m: int) -> int:
    """Ground truth: security identities whose phone the audience holds, in any of its forms.

    Counted on the generating integers, with no fingerprint at all, so that a check and a
    baseline that went wrong in the same way cannot agree by accident.
    """
    import duckdb

    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(
            f"SELECT count(DISTINCT i) FROM (SELECT i, (i * {USER_STEP}) % 8000000000 AS p "
            f"FROM range({m}) r(i)) s SEMI JOIN (SELECT (j * {AUDIENCE_STEP}) % 8000000000 AS p "
            f"FROM range({n}) r(j)) a USING (p)"
        ).fetchone()[0]


def _fmt(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


class PeakRss:
    """Samples this process's resident set size while in the ``with`` block."""

    def __init__(self, interval: float = 0.02):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _rss(self) -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


# --- preparation (parent process) --------------------------------------------------------------


def prepare(db: Path, sizes_n: list[int], sizes_m: list[int], floor: bool) -> dict:
    import sqlalchemy as sa

    from purpose_lineage.gx.fingerprints import IdentifierSource, attach_secret, build_fingerprint_table

    engine = sa.create_engine(f"duckdb:///{db}")
    timings: dict[str, float] = {}
    with engine.begin() as c:
        c.exec_driver_sql(
            f"CREATE TABLE users_2fa AS SELECT i AS user_id, {PHONE.format(i='i', step=USER_STEP)} "
            f"AS phone FROM range({max(sizes_m)}) r(i)"
        )
    for n in sizes_n:
        started = time.perf_counter()
        e164 = PHONE.format(i="j", step=AUDIENCE_STEP)
        with engine.begin() as c:
            c.exec_driver_sql(f"""
                CREATE TABLE audience_{_fmt(n)} AS
                SELECT CASE j % 3 WHEN 0 THEN e164
                       WHEN 1 THEN '(' || substr(e164, 3, 3) || ') ' || substr(e164, 6, 3) || '-'
                                   || substr(e164, 9)
                       ELSE sha256(e164) END AS phone, j % 100 AS segment
                FROM (SELECT j, {e164} AS e164 FROM range({n}) r(j))""")
        timings[f"audience_{_fmt(n)}"] = round(time.perf_counter() - started, 2)
    for m in sizes_m:
        report = build_fingerprint_table(
            engine,
            table=f"fps_{_fmt(m)}",
            secret=SECRET,
            sources=[
                IdentifierSource(f"SELECT * FROM users_2fa WHERE user_id < {m}", "phone", "phone", "user_id")
            ],
        )
        timings[f"build fps_{_fmt(m)} ({report.fingerprints} rows)"] = report.seconds
        FP_ROWS[m] = report.fingerprints
    if floor:
        detach = attach_secret(engine, SECRET)
        with engine.begin() as c:
            for n in sizes_n:
                started = time.perf_counter()
                c.exec_driver_sql(
                    f"CREATE TABLE audience_fp_{_fmt(n)} AS "
                    f"SELECT purpose_lineage_fp(phone) AS fp FROM audience_{_fmt(n)}"
                )
                timings[f"precompute audience_fp_{_fmt(n)}"] = round(time.perf_counter() - started, 2)
        detach()
    engine.dispose()
    return timings


def reused(db: Path, sizes_m: list[int]) -> dict:
    """Fingerprint row counts of data an earlier ``--workdir`` run prepared (no data rebuilt).

    The warehouse functions are installed again: they are stored in the file by the build,
    and the run must measure this checkout's definitions, not the preparing run's.
    """
    import sqlalchemy as sa

    from purpose_lineage.gx.fingerprints import install_functions

    engine = sa.create_engine(f"duckdb:///{db}")
    try:
        with engine.begin() as connection:
            for m in sizes_m:
                FP_ROWS[m] = connection.exec_driver_sql(f"SELECT count(*) FROM fps_{_fmt(m)}").scalar()
                install_functions(connection, f"fps_{_fmt(m)}")
    finally:
        engine.dispose()
    return {}


def write_suite(directory: Path) -> None:
    data = json.loads((ROOT / "expectations" / "ad_audience.json").read_text())
    for expectation in data["expectations"]:  # found by type: the suite's order is not fixed
        if expectation["type"] == "expect_no_security_only_identifiers":
            expectation["kwargs"]["fingerprint_table"] = {"$PARAMETER": "fingerprint_table"}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ad_audience.json").write_text(json.dumps(data))


# --- measurements (child processes) ------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict:
    """One measurement (``args.method`` at ``args.n`` x ``args.m``); run in a child unless --quick."""
    import sqlalchemy as sa

    n, m, db = _fmt(args.n), _fmt(args.m), Path(args.db)
    out: dict = {"method": args.method, "n": args.n, "m": args.m}
    if args.method in ("gx", "gx_sql"):
        # import cost is not the check's (bare imports these before its clock starts too)
        import duckdb  # noqa: F401
        import duckdb_engine  # noqa: F401
        import great_expectations  # noqa: F401

        from purpose_lineage.gx import register
        from purpose_lineage.gx.run import run_suite

        register()

        with PeakRss() as rss:
            started = time.perf_counter()
            result = run_suite(
                "ad_audience",
                table=f"audience_{n}",
                warehouse_url=f"duckdb:///{db}",
                params={"identifier_columns": ["phone"], "fingerprint_table": f"fps_{m}"},
                secret=SECRET,
                suites_dir=args.suites,
                data_docs_dir=args.docs,
                native_fingerprints="off" if args.method == "gx_sql" else args.fingerprints,
            )
            out["seconds"] = time.perf_counter() - started
        out["affected"] = result.affected_count
        out["fingerprints"] = result.fingerprints
        out["check_seconds"] = result.timings["check"]  # to the verdict; then Data Docs
        out["data_docs_seconds"] = result.timings["data_docs"]
    elif args.method in ("bare", "floor"):
        from purpose_lineage import native
        from purpose_lineage.gx.expectations import security_query
        from purpose_lineage.gx.fingerprints import attach_native, attach_secret
        from purpose_lineage.gx.run import DEFAULT_DUCKDB_MEMORY_LIMIT, limit_duckdb_memory

        # the baseline computes fingerprints the way the GX run does (native or SQL), under the
        # same memory cap, so that the ratio measures GX and not two DuckDB configurations
        extension = native.extension_path() if args.fingerprints != "off" else None
        config = {"config": native.duckdb_config()} if extension else {}
        engine = sa.create_engine(f"duckdb:///{db}", connect_args=config)
        limit_duckdb_memory(engine, DEFAULT_DUCKDB_MEMORY_LIMIT)
        if extension:
            attach_native(engine, extension)
        out["fingerprints"] = "native" if extension else "sql"
        detach = attach_secret(engine, SECRET)
        if args.method == "bare":
            query = security_query(["phone"], f"fps_{m}", native=extension is not None).format(
                batch=f"audience_{n}"
            )
            sql = f"SELECT count(*) FROM ({query}) q"
        else:
            sql = (
                f"SELECT count(DISTINCT f.identity) FROM fps_{m} f "
                f"WHERE f.fp IN (SELECT fp FROM audience_fp_{n})"
            )
        with engine.connect() as c, PeakRss() as rss:
            started = time.perf_counter()
            out["affected"] = c.exec_driver_sql(sql).scalar()
            out["seconds"] = time.perf_counter() - started
        detach()
    else:  # stock GX on pandas
        import great_expectations as gx
        import great_expectations.expectations as gxe

        from purpose_lineage import native
        from purpose_lineage.gx.fingerprints import attach_native, attach_secret, fingerprint_sql

        # preparing the dataframe is not timed (generous to stock); native fingerprints make
        # it quick at 50M rows, and DuckDB hands columns to numpy/pandas without Python rows
        extension = native.extension_path() if args.fingerprints != "off" else None
        config = {"config": native.duckdb_config()} if extension else {}
        engine = sa.create_engine(f"duckdb:///{db}", connect_args=config)
        if extension:
            attach_native(engine, extension)
        detach = attach_secret(engine, SECRET)
        fp = fingerprint_sql("phone", f"fps_{_fmt(args.stock_fps)}", native=extension is not None)
        with engine.connect() as c:
            duck = c.connection.driver_connection
            frame = duck.execute(
                f"SELECT {fp} AS fp FROM audience_{_fmt(args.stock_source)} LIMIT {args.n}"
            ).df()
            fps = duck.execute(f"SELECT fp FROM fps_{_fmt(args.stock_fps)} LIMIT {args.m}").fetchnumpy()
            values = fps["fp"].tolist()
        detach()
        engine.dispose()
        context = gx.get_context(mode="ephemeral")
        asset = context.data_sources.add_pandas("p").add_dataframe_asset("a")
        definition = asset.add_batch_definition_whole_dataframe("b")
        warm = definition.get_batch(batch_parameters={"dataframe": frame.head(10)})
        warm.validate(
            gxe.ExpectColumnValuesToNotBeInSet(column="fp", value_set=values[:10])
        )  # first-call setup
        batch = definition.get_batch(batch_parameters={"dataframe": frame})
        expectation = gxe.ExpectColumnValuesToNotBeInSet(column="fp", value_set=values)
        with PeakRss() as rss:
            started = time.perf_counter()
            result = batch.validate(expectation, result_format="BOOLEAN_ONLY")
            out["seconds"] = time.perf_counter() - started
        out["success"] = bool(result.success)
    out["peak_rss_mb"] = round(rss.peak / 2**20)
    out["maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def spawn(method: str, n: int, m: int, ns: argparse.Namespace, **extra: object) -> dict:
    if ns.quick:  # one process: GX is imported once, which keeps --quick under a minute
        child_args = argparse.Namespace(
            **{**vars(ns), "method": method, "n": n, "m": m, "stock_source": 0, "stock_fps": 0, **extra}
        )
        return measure(child_args)
    command = [
        sys.executable,
        __file__,
        "--child",
        method,
        "--n",
        str(n),
        "--m",
        str(m),
        "--db",
        str(ns.db),
        "--suites",
        str(ns.suites),
        "--docs",
        str(ns.docs),
        "--fingerprints",
        ns.fingerprints,
    ]
    for key, value in extra.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{method} N={n} M={m} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit_stock(points: list[dict]) -> tuple[float, float, float]:
    """Least squares t = a + b*values + c*rows."""
    import numpy as np

    x = np.array([[1.0, p["m"], p["n"]] for p in points])
    y = np.array([p["seconds"] for p in points])
    a, b, c = np.linalg.lstsq(x, y, rcond=None)[0]
    if c < 0:  # noise: time does not fall with rows; fit on values alone
        a, b = np.linalg.lstsq(x[:, :2], y, rcond=None)[0]
        c = 0.0
    return float(a), float(b), float(c)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N=1M, M=100k, small stock points (<60 s)")
    parser.add_argument("--full", action="store_true", help="also run stock GX for real at M=1M (minutes)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement, best kept")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-floor", action="store_true", help="skip the precomputed-fingerprint reference")
    parser.add_argument(
        "--reuse", action="store_true", help="keep and reuse the data prepared in --workdir by an earlier run"
    )
    parser.add_argument(
        "--fingerprints",
        choices=("auto", "off", "required"),
        default="auto",
        help="native fingerprint extension for gx and bare (default auto; off: SQL functions only)",
    )
    parser.add_argument(
        "--compare-sql", action="store_true", help="also time the GX check with the SQL functions (gx_sql)"
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    for name in ("n", "m", "stock-source", "stock-fps"):
        parser.add_argument(f"--{name}", type=int, default=0, help=argparse.SUPPRESS)
    for name in ("db", "suites", "docs"):
        parser.add_argument(f"--{name}", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.method = args.child
        print(json.dumps(measure(args)))
        return 0

    sizes_n, sizes_m = (
        ([500_000], [50_000]) if args.quick else ([10_000_000, 50_000_000], [1_000_000, 10_000_000])
    )
    stock_points = (
        [(20_000, 5_000), (20_000, 20_000), (40_000, 10_000)]
        if args.quick
        # values vary 4x, rows 20x: the fit sees the per-row cost too
        else [
            (200_000, 25_000),
            (200_000, 50_000),
            (200_000, 100_000),
            (400_000, 50_000),
            (4_000_000, 25_000),
        ]
    )
    if args.quick:
        args.no_floor = True
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pl-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    args.db, args.suites, args.docs = workdir / "bench.duckdb", workdir / "suites", workdir / "docs"
    reuse = args.reuse and args.db.exists()
    if args.db.exists() and not reuse:
        args.db.unlink()
    write_suite(args.suites)
    started = time.perf_counter()
    print(
        f"preparing in {workdir}: audience {[_fmt(n) for n in sizes_n]}, "
        f"fingerprints {[_fmt(m) for m in sizes_m]}",
        flush=True,
    )
    prep = reused(args.db, sizes_m) if reuse else prepare(args.db, sizes_n, sizes_m, floor=not args.no_floor)
    for name, seconds in prep.items():
        print(f"  {name}: {seconds:.1f} s", flush=True)

    rows = []
    for n in sizes_n:
        for m in sizes_m:
            best: dict[str, dict] = {}
            methods = ["bare", "gx"] + ([] if args.no_floor else ["floor"])
            methods += ["gx_sql"] if args.compare_sql else []
            for _ in range(args.repeats):
                for method in methods:
                    r = spawn(method, n, m, args)
                    if method not in best or r["seconds"] < best[method]["seconds"]:
                        best[method] = r
            truth = expected_affected(args.db, n, m)
            wrong = {k: v["affected"] for k, v in best.items() if k != "floor" and v["affected"] != truth}
            if wrong:
                raise SystemExit(f"wrong affected count at N={n} M={m}: {wrong}, expected {truth}")
            rows.append({"n": n, "m": m, "expected_affected": truth, **{k: v for k, v in best.items()}})
            g, b = best["gx"], best["bare"]
            line = (
                f"N={_fmt(n):>4} M={_fmt(m):>5}  gx {g['seconds']:7.2f} s "
                f"(verdict {g['check_seconds']:.2f} s "
                f"+ Data Docs {g['data_docs_seconds']:.2f} s)  bare {b['seconds']:7.2f} s  "
                f"speed ratio gx/bare {b['seconds'] / g['seconds']:.2f} "
                f"(to the verdict {b['seconds'] / g['check_seconds']:.2f})  "
                f"affected {g['affected']} (= expected)  gx peak RSS {g['peak_rss_mb']} MB (goal < 4096)"
            )
            line += f"  fingerprints {g['fingerprints']}"
            if "floor" in best:
                line += f"  floor {best['floor']['seconds']:.2f} s"
            if "gx_sql" in best:
                sql = best["gx_sql"]["seconds"]
                line += f"  gx with SQL fingerprints {sql:.2f} s ({sql / g['seconds']:.1f}x slower)"
            print(line, flush=True)

    stock = [
        spawn("stock", r, v, args, stock_source=sizes_n[0], stock_fps=sizes_m[-1]) for r, v in stock_points
    ]
    a, b, c = fit_stock(stock)
    print("stock GX ExpectColumnValuesToNotBeInSet (pandas), measured:")
    for s in stock:
        print(f"  rows {s['n']:>8} values {s['m']:>7}: {s['seconds']:.2f} s")
    print(f"  fit: t = {a:.3f} + {b * 1e6:.3f} us/value + {c * 1e6:.3f} us/row (extrapolated linearly)")
    for row in rows:
        # the stock path needs every match key in value_set to catch what the check catches
        equivalent, lower = FP_ROWS[row["m"]], row["m"]
        row["stock_extrapolated_s"] = a + b * equivalent + c * row["n"]
        row["stock_lower_bound_s"] = a + b * lower + c * row["n"]
        print(
            f"N={_fmt(row['n']):>4} M={_fmt(row['m']):>5}  stock (extrapolated, {equivalent} values) "
            f"{row['stock_extrapolated_s']:9.1f} s  "
            f"gx speedup {row['stock_extrapolated_s'] / row['gx']['seconds']:7.1f}x"
            f"  | with only {lower} values: {row['stock_lower_bound_s']:8.1f} s, "
            f"{row['stock_lower_bound_s'] / row['gx']['seconds']:6.1f}x"
        )
    full_stock = []
    if args.full:  # for real where the margin is smallest: M=1M (6M match keys), every N
        m = sizes_m[0]
        for n in sizes_n:
            measured = spawn("stock", n, FP_ROWS[m], args, stock_source=n, stock_fps=m)
            full_stock.append(measured)
            match = [r for r in rows if r["n"] == n and r["m"] == m]
            print(
                f"stock GX measured at N={_fmt(n)} with the {FP_ROWS[m]} fingerprints of M={_fmt(m)}: "
                f"{measured['seconds']:.1f} s (fit: {a + b * FP_ROWS[m] + c * n:.1f} s)"
                + (f"  gx speedup {measured['seconds'] / match[0]['gx']['seconds']:.1f}x" if match else ""),
                flush=True,
            )
    summary = {
        "prep": prep,
        "rows": rows,
        "stock_points": stock,
        "stock_fit": [a, b, c],
        "stock_full": full_stock,
        "total_s": round(time.perf_counter() - started, 1),
    }
    (workdir / "data_check.json").write_text(json.dumps(summary, indent=2))
    print(f"total {summary['total_s']} s; results in {workdir / 'data_check.json'}")
    if not args.workdir and not args.reuse:  # keep the JSON, drop the data
        args.db.unlink(missing_ok=True)
        shutil.rmtree(args.docs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    sys.exit(main())
