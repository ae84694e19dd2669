"""Lineage store benchmark: closure and path queries over 1M and 10M column edges.

    .venv/bin/python benchmarks/store.py            # 1M and 10M edges, DuckDB and PostgreSQL
    .venv/bin/python benchmarks/store.py --quick    # 100k and 1M edges (under a minute on DuckDB)

Synthetic graph, as the issue describes: 10 layers of tables with 20 columns each; every column of
layer k > 0 reads 3 columns of 3 parent tables in layer k-1 (fan-in 3), and every table's row set
has one INDIRECT/JOIN edge from a parent's key. Column ids are allocated table by table and edges
are stored grouped by target table, as ``record_lineage`` writes them. Ten layer-0 columns carry
the security purpose, among them ``auth.users_2fa.phone``, the join key of a layer-1 table; the sink
is ``ads.audience`` in layer 9.

Each query runs against a store opened for the query and closed after it (the DuckDB store keeps
no connection between calls), so nothing is held in memory between runs. The reference is an
in-memory BFS (numpy CSR) over the same edges, loaded from the same store and timed in the same
run; both answers are compared, so a fast wrong answer cannot pass.

Timings are wall clock (median of ``--repeat`` runs, and the first); ``cpu ms`` is this process's
CPU time per query (DuckDB's threads included, the PostgreSQL server's not), steadier than wall
time on a busy machine.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from purpose_lineage.core.model import ColumnRef, Subtype  # noqa: E402
from purpose_lineage.store import open_store  # noqa: E402
from purpose_lineage.store.paths import IdGraph  # noqa: E402

LAYERS, COLS, FAN_IN = 10, 20, 3
SECURITY = "essential.service.security"
PHONE_CATEGORY = "user.contact.phone_number"
SUBTYPES = [s.value for s in Subtype]
DIRECT = [SUBTYPES.index(s) for s in ("IDENTITY", "TRANSFORMATION", "AGGREGATION")]
JOIN = SUBTYPES.index("JOIN")
SINK, PHONE_TABLE = "ads.audience", "auth.users_2fa"
DEPTH = 20


@dataclass
class Graph:
    n_edges: int
    tables: list[str]  # dataset id - 1 -> name
    col_dataset: np.ndarray  # column id - 1 -> dataset id
    col_name: list[str]
    src: np.ndarray
    dst: np.ndarray
    sub: np.ndarray
    tagged: list[int]  # column ids carrying the security purpose


def build_graph(target_edges: int, seed: int = 7) -> Graph:
    rng = np.random.default_rng(seed)
    per_table = COLS * FAN_IN + 1
    t = max(2, round(target_edges / (per_table * (LAYERS - 1))))  # tables per layer
    n_tables = LAYERS * t
    width = COLS + 1  # row set first, then the columns
    tables = [f"l{k}.t{i}" for k in range(LAYERS) for i in range(t)]
    col_dataset = np.repeat(np.arange(1, n_tables + 1), width)
    col_name = ["" if j == 0 else f"c{j - 1}" for _ in range(n_tables) for j in range(width)]

    def col_id(table_index, j):  # 1-based column id of column j (0 = row set) of a 0-based table
        return table_index * width + j + 1

    srcs, dsts, subs = [], [], []
    phone_table = 0
    for k in range(1, LAYERS):
        parents = rng.integers(0, t, size=(t, FAN_IN)) + (k - 1) * t  # 3 parent tables per table
        if k == 1:
            phone_table = int(parents[0, 0])  # its c0 is the join key of a layer-1 table: the 2FA phone
        targets = np.arange(t) + k * t
        for f in range(FAN_IN):
            ptab = parents[np.repeat(np.arange(t), COLS), rng.integers(0, FAN_IN, size=t * COLS)]
            srcs.append(col_id(ptab, rng.integers(1, width, size=t * COLS)))
            dsts.append(col_id(np.repeat(targets, COLS), np.tile(np.arange(1, width), t)))
            subs.append(
                rng.choice(DIRECT, size=t * COLS) if f == 0 else rng.integers(0, len(SUBTYPES), t * COLS)
            )
        srcs.append(col_id(parents[:, 0], np.ones(t, dtype=np.int64)))  # join key c0 of a parent
        dsts.append(col_id(targets, np.zeros(t, dtype=np.int64)))
        subs.append(np.full(t, JOIN))
    src, dst, sub = (np.concatenate(a).astype(np.int64) for a in (srcs, dsts, subs))
    triples = np.unique(np.stack([dst, src, sub], axis=1), axis=0)  # grouped by target, no duplicates
    dst, src, sub = triples[:, 0], triples[:, 1], triples[:, 2]
    tables[phone_table], tables[(LAYERS - 1) * t] = PHONE_TABLE, SINK
    col_name[col_id(phone_table, 1) - 1] = "phone"
    others = rng.choice(np.setdiff1d(np.arange(t), [phone_table]), size=min(9, t - 1), replace=False)
    tagged = [col_id(phone_table, 1)] + [int(col_id(i, int(rng.integers(1, width)))) for i in others]
    return Graph(len(src), tables, col_dataset, col_name, src, dst, sub, tagged)


def _frame(**cols):
    import pandas as pd

    return pd.DataFrame(cols)


def load_duckdb(path: Path, g: Graph) -> str:
    import duckdb

    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    url = f"duckdb:///{path}"
    store = open_store(url, spool_dir=path.parent / "spool")
    store.migrate()
    now = datetime(2026, 1, 1)
    con = duckdb.connect(str(path))
    ds = _frame(id=np.arange(1, len(g.tables) + 1), name=g.tables)  # noqa: F841 - read by DuckDB
    cols = _frame(id=np.arange(1, len(g.col_name) + 1), d=g.col_dataset, name=g.col_name)  # noqa: F841
    edges = _frame(s=g.src, t=g.dst, sub=np.array(SUBTYPES)[g.sub])  # noqa: F841
    tags = _frame(c=np.array(g.tagged, dtype=np.int64))  # noqa: F841
    con.execute("INSERT INTO pl_datasets SELECT id, name, 'bench', ? FROM ds", [now])
    con.execute("INSERT INTO pl_columns SELECT id, d, name FROM cols")
    con.execute("INSERT INTO pl_edges SELECT s, t, sub, false, NULL, ? FROM edges", [now])
    con.execute(
        "INSERT INTO pl_dataset_edges SELECT DISTINCT a.dataset_id, b.dataset_id FROM pl_edges e "
        "JOIN pl_columns a ON a.id = e.source_id JOIN pl_columns b ON b.id = e.target_id"
    )
    con.execute(
        f"INSERT INTO pl_tags SELECT c, '{PHONE_CATEGORY}', ?, 'declared', 0, 'bench', ?, ? FROM tags",
        [SECURITY, now, now],
    )
    con.execute("CHECKPOINT")
    con.close()
    return url


def load_postgres(url: str, g: Graph) -> str:
    import psycopg2

    store = open_store(url, spool_dir=Path(tempfile.gettempdir()) / "pl-bench-spool")
    conn = psycopg2.connect(store.dsn)
    with conn, conn.cursor() as cur:
        cur.execute(
            "DROP TABLE IF EXISTS pl_schema_version, pl_datasets, pl_columns, pl_edges, pl_edge_runs, "
            "pl_dataset_edges, pl_tags, pl_runs, pl_run_events, pl_run_datasets, pl_assertions, pl_verdicts, "
            "pl_alert_claims"
        )
        cur.execute("DROP SEQUENCE IF EXISTS pl_dataset_seq, pl_column_seq")
    store.migrate()
    with conn, conn.cursor() as cur:
        # bulk load: indexes after the data, as a restore would
        cur.execute("ALTER TABLE pl_edges DROP CONSTRAINT pl_edges_pkey")
        cur.execute("DROP INDEX pl_edges_target")

        def copy(table: str, columns: str, rows) -> None:
            buf = io.StringIO()
            for r in rows:
                buf.write("\t".join(map(str, r)) + "\n")
            buf.seek(0)
            cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)

        copy(
            "pl_datasets",
            "id, name, namespace, created_at",
            ((i + 1, n, "bench", "2026-01-01") for i, n in enumerate(g.tables)),
        )
        copy(
            "pl_columns",
            "id, dataset_id, name",
            ((i + 1, int(d), n) for i, (d, n) in enumerate(zip(g.col_dataset, g.col_name, strict=True))),
        )
        names = np.array(SUBTYPES)[g.sub]
        step = 1_000_000
        for i in range(0, g.n_edges, step):
            copy(
                "pl_edges",
                "source_id, target_id, subtype, masking, created_at",
                (
                    (int(s), int(t), n, "f", "2026-01-01")
                    for s, t, n in zip(
                        g.src[i : i + step], g.dst[i : i + step], names[i : i + step], strict=True
                    )
                ),
            )
        cur.execute("ALTER TABLE pl_edges ADD PRIMARY KEY (source_id, target_id, subtype)")
        cur.execute("CREATE INDEX pl_edges_target ON pl_edges (target_id)")
        cur.execute(
            "INSERT INTO pl_dataset_edges SELECT DISTINCT a.dataset_id, b.dataset_id FROM pl_edges e "
            "JOIN pl_columns a ON a.id = e.source_id JOIN pl_columns b ON b.id = e.target_id"
        )
        cur.executemany(
            f"INSERT INTO pl_tags VALUES (%s, '{PHONE_CATEGORY}', %s, 'declared', 0, 'bench', now(), now())",
            [(c, SECURITY) for c in g.tagged],
        )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")  # as autovacuum would: statistics and the visibility map
    conn.close()
    return url


class InMemory:
    """The reference: CSR adjacency in both directions, built from the store's own rows."""

    def __init__(self, url: str):
        import duckdb

        from purpose_lineage.store.duckdb_store import duckdb_path

        con = duckdb.connect(str(duckdb_path(url)), read_only=True)
        e = con.execute("SELECT source_id, target_id FROM pl_edges").fetchnumpy()
        c = con.execute("SELECT id, dataset_id, name = '' AS rows FROM pl_columns ORDER BY id").fetchnumpy()
        con.close()
        self.src, self.dst = e["source_id"].astype(np.int64), e["target_id"].astype(np.int64)
        n = int(c["id"].max()) + 1
        self.table = np.zeros(n, dtype=np.int64)
        self.table[c["id"]] = c["dataset_id"]
        is_rows = np.asarray(c["rows"], dtype=bool)
        self.row_of = np.zeros(int(c["dataset_id"].max()) + 1, dtype=np.int64)
        self.row_of[c["dataset_id"][is_rows]] = c["id"][is_rows]
        order = np.argsort(self.table[1:], kind="stable") + 1
        self.tcols = order
        self.tptr = np.searchsorted(self.table[order], np.arange(len(self.row_of) + 1))
        self.in_order = np.argsort(self.dst, kind="stable")
        self.in_ptr = np.searchsorted(self.dst[self.in_order], np.arange(n + 1))
        self.out_order = np.argsort(self.src, kind="stable")
        self.out_ptr = np.searchsorted(self.src[self.out_order], np.arange(n + 1))

    def _expand(self, nodes: np.ndarray, order, ptr) -> np.ndarray:
        if not len(nodes):
            return np.zeros(0, dtype=np.int64)
        starts, ends = ptr[nodes], ptr[nodes + 1]
        lens = ends - starts
        idx = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
        return order[idx]

    def upstream(self, start: np.ndarray, depth: int = DEPTH) -> np.ndarray:
        """Edge indexes of the upstream closure (a column's table row set feeds it for free)."""
        seen = np.zeros(len(self.table), dtype=bool)
        seen[start] = True
        frontier, found = start, []
        for _ in range(depth):
            targets = np.unique(np.concatenate([frontier, self.row_of[self.table[frontier]]]))
            edges = self._expand(targets, self.in_order, self.in_ptr)
            found.append(edges)
            nxt = np.unique(self.src[edges])
            nxt = nxt[~seen[nxt]]
            seen[nxt] = True
            frontier = nxt
            if not len(frontier):
                break
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def downstream(self, start: np.ndarray, depth: int = DEPTH) -> np.ndarray:
        seen = np.zeros(len(self.table), dtype=bool)
        seen[start] = True
        frontier, found = start, []
        for _ in range(depth):
            rows = frontier[self.row_of[self.table[frontier]] == frontier]
            sources = np.unique(
                np.concatenate([frontier, self._expand(self.table[rows], self.tcols, self.tptr)])
            )
            edges = self._expand(sources, self.out_order, self.out_ptr)
            found.append(edges)
            nxt = np.unique(self.dst[edges])
            nxt = nxt[~seen[nxt]]
            seen[nxt] = True
            frontier = nxt
            if not len(frontier):
                break
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def paths_into(self, sink_table: int, sources: list[int], depth: int = DEPTH) -> int:
        """The guard's question: count of simple paths from ``sources`` into the sink's columns."""
        sink_nodes = self._expand(np.array([sink_table]), self.tcols, self.tptr)
        up = self.upstream(sink_nodes, depth)
        down = self.downstream(np.array(sorted(sources)), depth)
        keep = np.intersect1d(up, down)  # edges on some source -> sink walk
        g: IdGraph = IdGraph()
        nodes = np.unique(np.concatenate([self.src[keep], self.dst[keep], sink_nodes, sources]))
        rows_nodes = self._expand(np.unique(self.table[nodes]), self.tcols, self.tptr)
        for n in np.unique(np.concatenate([nodes, rows_nodes])):
            g.add_node(int(n), table=int(self.table[n]), rows=bool(self.row_of[self.table[n]] == n))
        for i in keep:
            g.add_edge(int(self.src[i]), int(self.dst[i]), int(i))
        return len(g.paths(sources, [int(n) for n in sink_nodes], depth, max_paths=1_000_000))


def timed(fn, repeat: int) -> tuple[list[float], object, list[float]]:
    """Wall times, the last result, and this process's CPU times (DuckDB's threads included)."""
    times, result, cpu = [], None, []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return times, result, cpu


def bench(url: str, g: Graph, ref: InMemory, repeat: int) -> list[dict]:
    sink_id = g.tables.index(SINK) + 1
    phone = ColumnRef(PHONE_TABLE, "phone")
    spool = Path(tempfile.gettempdir()) / "pl-bench-spool"

    def fresh():  # a store opened for this query only: nothing survives between runs
        return open_store(url, spool_dir=spool)

    def guard():
        with fresh() as s:
            return s.paths_into(SINK, purposes=[SECURITY], depth=DEPTH, max_paths=1_000_000)

    def up():
        with fresh() as s:
            return s.upstream(SINK, DEPTH)

    def down():
        with fresh() as s:
            return s.downstream(phone, DEPTH)

    sink_nodes = ref._expand(np.array([sink_id]), ref.tcols, ref.tptr)
    phone_id = g.tagged[0]
    cases = [
        ("guard: paths into one sink", guard, lambda: ref.paths_into(sink_id, g.tagged), len),
        ("upstream closure of the sink", up, lambda: len(ref.upstream(sink_nodes)), len),
        ("downstream closure of the phone", down, lambda: len(ref.downstream(np.array([phone_id]))), len),
    ]
    rows = []
    for name, store_fn, ref_fn, size in cases:
        store_times, result, store_cpu = timed(store_fn, repeat)
        ref_times, expected, _ = timed(ref_fn, repeat)
        got = size(result)
        if got != expected:
            raise SystemExit(f"{name}: the store found {got}, the in-memory BFS {expected}")
        rows.append(
            {
                "query": name,
                "answer": got,
                "first": store_times[0],
                "median": statistics.median(store_times),
                "cpu": statistics.median(store_cpu),
                "ref": statistics.median(ref_times),
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k and 1M edges")
    ap.add_argument("--sizes", help="comma-separated edge counts, e.g. 1000000,10000000")
    ap.add_argument("--backends", default="duckdb,postgresql")
    ap.add_argument(
        "--pg-url",
        default=os.environ.get(
            "PURPOSE_LINEAGE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/pl_store_bench"
        ),
    )
    ap.add_argument(
        "--dir", type=Path, default=None, help="folder for the DuckDB files (default: a temp dir)"
    )
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000])
    )
    backends = args.backends.split(",")
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="pl-store-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"{'edges':>10} {'backend':<10} {'query':<34} {'answer':>7} {'first ms':>9} {'median ms':>9} "
        f"{'in-mem ms':>9} {'ratio':>7} {'cpu ms':>8}"
    )
    for n in sizes:
        t = time.perf_counter()
        g = build_graph(n)
        gen = time.perf_counter() - t
        duck_path = workdir / f"bench-{n}.duckdb"
        t = time.perf_counter()
        duck_url = load_duckdb(duck_path, g)
        duck_load = time.perf_counter() - t
        t = time.perf_counter()
        ref = InMemory(duck_url)
        ref_load = time.perf_counter() - t
        print(
            f"# {g.n_edges:,} edges, {len(g.col_name):,} columns, {len(g.tables):,} tables: generated in "
            f"{gen:.1f} s, DuckDB load {duck_load:.1f} s, in-memory reference load {ref_load:.1f} s"
        )
        for backend in backends:
            if backend == "duckdb":
                url = duck_url
            else:
                t = time.perf_counter()
                url = load_postgres(args.pg_url, g)
                print(f"# PostgreSQL load {time.perf_counter() - t:.1f} s")
            for r in bench(url, g, ref, args.repeat):
                print(
                    f"{g.n_edges:>10,} {backend:<10} {r['query']:<34} {r['answer']:>7} "
                    f"{r['first'] * 1e3:>9.1f} {r['median'] * 1e3:>9.1f} {r['ref'] * 1e3:>9.1f} "
                    f"{r['median'] / r['ref']:>6.1f}x {r['cpu'] * 1e3:>8.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
