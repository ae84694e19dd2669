"""Lineage page at scale: load + layout, then focus and filter, in headless Chromium.

    .venv/bin/python benchmarks/ui.py            # 5,000 columns / 20,000 edges (about 3 min)
    .venv/bin/python benchmarks/ui.py --quick    # the same graph, one round, two loads (about 80 s)

A real DuckDB store is filled with a synthetic warehouse (benchmarks/ui_graph.py), the
plugin's FastAPI app serves it through uvicorn, and Debian's Chromium opens the page.
Baselines measured in the same run: the same page over a 500-column graph, and
Cytoscape's plain grid layout of the very elements our layout placed.

Targets (issue 5): load + layout < 3 s; focus and filter < 200 ms. Printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "benchmarks")]

import uvicorn  # noqa: E402
from ui_graph import synthetic  # noqa: E402

from purpose_lineage.api.app import create_app  # noqa: E402
from purpose_lineage.store import open_store  # noqa: E402
from purpose_lineage.store.base import RunInfo  # noqa: E402

API_KEY = "ui-benchmark-key"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOAD_TARGET_MS = 3000
INTERACTION_TARGET_MS = 200

# one interaction: run it, wait for the redraw, return ms from the call to the painted frame
INTERACT = """async ([kind, arg]) => {
  const pl = window.plLineage;
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const t0 = performance.now();
  if (kind === 'filter') await pl.setFilters(arg);
  else if (kind === 'focus') await pl.focus(arg.name, arg.direction, arg.depth);
  else if (kind === 'toggle') await pl.toggleDataset(arg);
  else if (kind === 'expand') await pl.expandAll(arg);
  await frame();
  return { ms: performance.now() - t0, drawn: pl.cy.elements().filter((e) => !e.hasClass('hidden')).length };
}"""

# Cytoscape's grid layout of the datasets, computed on a headless instance (no drawing), as ours is
GRID = """() => {
  const cy = window.plLineage.cy;
  const eles = cy.nodes('.dataset').jsons().map((j) => ({ group: 'nodes', data: { id: j.data.id } }));
  const headless = window.plLineage.cytoscape({ headless: true, elements: eles });
  const t0 = performance.now();
  headless.layout({ name: 'grid', fit: false, animate: false }).run();
  const ms = performance.now() - t0;
  headless.destroy();
  return ms;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(columns: int, edges: int, tmp: Path) -> tuple[str, uvicorn.Server, dict]:
    """A filled DuckDB store behind the plugin's app on a free port."""
    snap = synthetic(columns, edges)
    store = open_store(f"duckdb:///{tmp / f'lineage-{columns}.duckdb'}", spool_dir=tmp / f"spool-{columns}")
    t0 = time.perf_counter()
    store.record_lineage(
        RunInfo("bench/r1/load", job_name="bench.load", dag_id="bench", task_id="load"),
        snap.edges,
        snap.tags,
        snap.datasets,
    )
    for verdict in snap.verdicts:
        store.record_verdict(verdict)
    fill = time.perf_counter() - t0
    app = create_app(store=store, api_key=API_KEY)
    app.state.airflow_auth = False
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    info = {
        "datasets": len(snap.datasets),
        "columns": columns,
        "edges": len(snap.edges),
        "fill_s": fill,
        "mid_table": snap.datasets[len(snap.datasets) // 2].table,
    }
    return f"http://127.0.0.1:{port}/ui/", server, info


def cpu(cdp) -> dict[str, float]:
    """Renderer CPU seconds so far: its main thread (ThreadTime) and the whole process (ProcessTime)."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {"thread": metrics["ThreadTime"], "process": metrics["ProcessTime"]}


def cpu_ms(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: (after[k] - before[k]) * 1000 for k in before}


def open_page(browser, url: str) -> tuple[object, dict]:
    context = browser.new_context(
        viewport={"width": 1500, "height": 900}, extra_http_headers={"X-API-Key": API_KEY}
    )
    context.set_default_timeout(120_000)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    page.cdp = cdp  # type: ignore[attr-defined]
    start = cpu(cdp)
    page.goto(url)
    page.wait_for_function("() => window.plLineage && window.plLineage.ready", timeout=120_000)
    ready = page.evaluate("window.plLineage.ready")
    if not ready.get("ok"):
        raise SystemExit(f"page failed: {ready}")
    timings = page.evaluate("window.plLineage.timings")
    timings["cpu"] = cpu_ms(start, cpu(cdp))
    nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
    timings["navigation"] = {"ttfb": nav["responseStart"], "dom": nav["domContentLoadedEventEnd"]}
    return page, timings


def interactions(page, table: str, rounds: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    steps = [
        ("filter purpose", "filter", {"purpose": "essential"}),
        ("clear purpose", "filter", {"purpose": ""}),
        ("filter sink", "filter", {"sink": table}),
        ("clear sink", "filter", {"sink": ""}),
        ("focus depth 2", "focus", {"name": table, "direction": "both", "depth": "2"}),
        ("focus upstream", "focus", {"name": table, "direction": "upstream", "depth": ""}),
        ("clear focus", "filter", {"focus": "", "depth": ""}),
        ("search", "filter", {"q": "t012"}),
        ("clear search", "filter", {"q": ""}),
    ]
    out: dict[str, list[float]] = {name: [] for name, _, _ in steps}
    out.update({f"{name} cpu": [] for name, _, _ in steps})
    drawn: dict[str, int] = {}
    for _ in range(rounds):
        for name, kind, arg in steps:
            before = cpu(page.cdp)
            r = page.evaluate(INTERACT, [kind, arg])
            out[f"{name} cpu"].append(cpu_ms(before, cpu(page.cdp))["thread"])
            out[name].append(r["ms"])
            drawn[name] = r["drawn"]
    return out, drawn


def measure(browser, url: str, rounds: int, focus_table: str) -> dict:
    page, timings = open_page(browser, url)
    steps, drawn = interactions(page, focus_table, rounds)
    result = {"load": timings, "interactions": steps, "drawn_after": drawn}
    result["layout_ms"] = page.evaluate("window.plLineage.layoutAll()")
    result["grid_ms"] = page.evaluate(GRID)
    result["drawn"] = page.evaluate(
        "({ nodes: plLineage.cy.nodes().length, edges: plLineage.cy.edges().length })"
    )
    before = cpu(page.cdp)
    result["expand_all"] = page.evaluate(INTERACT, ["expand", "all"])
    result["expand_all"]["cpu"] = cpu_ms(before, cpu(page.cdp))["thread"]
    page.context.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of interactions, no repeat load")
    parser.add_argument("--columns", type=int, default=5000)
    parser.add_argument("--edges", type=int, default=20000)
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 5
    loads = 2 if args.quick else 3  # the first load reads the store, later ones hit the server's cache

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="pl-ui-bench-") as tmp, sync_playwright() as pw:
        big_url, big_server, big_info = serve(args.columns, args.edges, Path(tmp))
        small_url, small_server, small_info = serve(500, 2000, Path(tmp))
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            small = [measure(browser, small_url, rounds, small_info["mid_table"]) for _ in range(loads)]
            big = [measure(browser, big_url, rounds, big_info["mid_table"]) for _ in range(loads)]
        finally:
            browser.close()
            big_server.should_exit = small_server.should_exit = True

    report(big_info, big, small_info, small)
    if args.json:
        args.json.write_text(json.dumps({"big": big, "small": small, "big_info": big_info}, indent=1))
    return 0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(big_info: dict, big: list[dict], small_info: dict, small: list[dict]) -> None:
    """Wall-clock times on this machine, and the renderer main thread's CPU time for the same span.

    On a shared, loaded machine wall time is CPU time plus waiting for a core; the CPU column
    is what the page itself costs (a machine to itself comes close to it).
    """

    def med(runs: list[dict], *path: str) -> float:
        values = []
        for r in runs:
            for key in path:
                r = r[key]
            values.append(r)
        return median(values)

    load_avg = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(
        f"graph: {big_info['datasets']} datasets, {big_info['columns']} columns, {big_info['edges']} edges "
        f"(store filled in {big_info['fill_s']:.1f} s); baseline: {small_info['columns']} columns, "
        f"{small_info['edges']} edges; load average {load_avg} on {os.cpu_count()} cores"
    )
    print(
        f"drawn at load: {big[0]['drawn']['nodes']} nodes, {big[0]['drawn']['edges']} edges "
        "(datasets collapsed, the red path's datasets expanded)"
    )
    # the first load of each graph reads the store; repeats are answered from the server's cache
    # (until a write): both are reported, the target is judged on the first
    cold, warm = big[:1], big[1:] or big[:1]
    # the baseline's first load also starts the browser: its median over all loads
    wall, small_wall = (
        med(cold, "load", "load", "sinceNavigation"),
        med(small, "load", "load", "sinceNavigation"),
    )
    main_cpu, small_cpu = med(cold, "load", "cpu", "thread"), med(small, "load", "cpu", "thread")
    fetch = med(cold, "load", "load", "fetch")
    flag = "ok" if wall < LOAD_TARGET_MS else "over"
    print(
        f"load + layout (navigation to painted graph), first load: wall {wall:6.0f} ms "
        f"[{flag}; target {LOAD_TARGET_MS}]"
    )
    print(
        f"   renderer main-thread CPU {main_cpu:.0f} ms (+ server: store read and JSON, in the fetch "
        f"{fetch:.0f} ms wall); model {med(cold, 'load', 'load', 'model'):.0f} ms, "
        f"layout {med(cold, 'load', 'render', 'layout'):.0f} ms"
    )
    print(
        f"   repeat loads (server cache): wall {med(warm, 'load', 'load', 'sinceNavigation'):.0f} ms, "
        f"fetch {med(warm, 'load', 'load', 'fetch'):.0f} ms, CPU {med(warm, 'load', 'cpu', 'thread'):.0f} ms "
        f"({len(warm)} loads)"
    )
    print(
        f"   baseline 500-column page: wall {small_wall:.0f} ms, CPU {small_cpu:.0f} ms; "
        f"ratio wall {wall / small_wall:.2f}x, CPU {main_cpu / small_cpu:.2f}x"
    )
    layout, grid = med(big, "layout_ms"), med(big, "grid_ms")
    print(
        f"layered layout of the {big_info['datasets']} datasets: {layout:.1f} ms; Cytoscape grid layout "
        f"of the same datasets: {grid:.1f} ms; ratio {layout / grid:.2f}x"
    )
    print(
        f"expand every dataset ({big_info['columns']} columns, {big[0]['expand_all']['drawn']} elements "
        f"drawn): wall {med(big, 'expand_all', 'ms'):.0f} ms, CPU {med(big, 'expand_all', 'cpu'):.0f} ms "
        "(on demand; not a target)"
    )
    head = f"{'interaction (median)':32s} {'wall ms':>8s} {'CPU ms':>7s} {'500-col wall':>13s} {'ratio':>6s}"
    print(head + "  drawn")
    worst_wall = worst_cpu = 0.0
    for name in big[0]["drawn_after"]:
        b = median([v for r in big for v in r["interactions"][name]])
        c = median([v for r in big for v in r["interactions"][f"{name} cpu"]])
        sm = median([v for r in small for v in r["interactions"][name]])
        worst_wall, worst_cpu = max(worst_wall, b), max(worst_cpu, c)
        print(f"  {name:30s} {b:8.0f} {c:7.0f} {sm:13.0f} {b / sm:5.2f}x  {big[0]['drawn_after'][name]}")
    print(
        f"slowest interaction: wall {worst_wall:.0f} ms, CPU {worst_cpu:.0f} ms "
        f"[target {INTERACTION_TARGET_MS} ms: wall {'ok' if worst_wall < INTERACTION_TARGET_MS else 'over'}, "
        f"CPU {'ok' if worst_cpu < INTERACTION_TARGET_MS else 'over'}]"
    )


if __name__ == "__main__":
    sys.exit(main())
