"""What the lineage page draws: a :class:`GraphSnapshot` turned into nodes, edges and red paths.

Pure functions over the store's snapshot; the routes in :mod:`purpose_lineage.api.ui` call them.
The page applies the same filters in the browser (``frontend/src/model.js``) so that its
interactions need no round trip; both follow the rules below.

* Node ids are opaque (``d3``, ``c17``, ``r3``) and stable within one response only. A table's
  *row set* (``r``) is the target of join keys and filters; a step from it to any column of
  its table is implicit and free (as in the store's closures).
* ``purpose`` / ``category`` keep the columns tagged with that key or a key below it
  (``marketing`` covers ``marketing.advertising``) and everything downstream of them.
* ``sink`` keeps a table and everything upstream of it.
* ``focus`` keeps a table (or ``table.column``) and its upstream and/or downstream within ``depth`` hops.
* ``q`` keeps the tables whose name, or one of whose column names, contains the text.
* Paths of the newest verdict of each (DAG, task, sink) that failed are marked ``violating``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from purpose_lineage.api.ui_schemas import (
    Facets,
    PathHop,
    RunInfoOut,
    VerdictInfo,
    ViolationInfo,
)
from purpose_lineage.core.model import normalize_table
from purpose_lineage.store.base import DatasetInfo, GraphSnapshot, RunRecord, Verdict

DIRECTIONS = ("both", "upstream", "downstream")
MAX_DEPTH = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Filters:
    """The graph filters of the page and of ``GET /ui/api/graph``."""

    dag_id: str | None = None
    run_id: str | None = None
    purpose: str | None = None
    category: str | None = None
    sink: str | None = None
    q: str | None = None
    focus: str | None = None
    depth: int | None = None
    direction: str = "both"

    def as_dict(self) -> dict[str, str | int | None]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class _Index:
    """Node ids of a snapshot and the traversal graph over them."""

    tables: list[str] = field(default_factory=list)
    namespaces: dict[str, str] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)  # table -> ordered column names
    ids: dict[str, dict[str | None, str]] = field(default_factory=dict)  # table -> column|None -> id
    table_of: dict[str, str] = field(default_factory=dict)  # node id -> table
    down: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    up: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))

    def node(self, table: str, column: str | None) -> str:
        return self.ids[table][column]

    def table_nodes(self, table: str) -> list[str]:
        return list(self.ids[table].values())


def airflow_run_id(run_id: str | None, dag_id: str | None, task_id: str | None = None) -> str | None:
    """The Airflow DAG run id inside a store run id (``dag/run/task`` as operators write it).

    >>> airflow_run_id("etl/manual__2026-01-01/publish", "etl", "publish")
    'manual__2026-01-01'
    >>> airflow_run_id("manual__2026-01-01", "etl")
    'manual__2026-01-01'
    >>> airflow_run_id("0b7c1f6e-9e8a-4c1d-a111-2f0e4c55e9d1", None) is None
    True
    """
    if not run_id or not dag_id:
        return None
    prefix = f"{dag_id}/"
    if run_id.startswith(prefix):
        rest = run_id[len(prefix) :]
        if task_id and rest.endswith(f"/{task_id}"):
            rest = rest[: -len(task_id) - 1]
        return rest or None
    return run_id


def covers(key: str, wanted: str) -> bool:
    """``key`` is ``wanted`` or lies below it in the dotted taxonomy.

    >>> covers("marketing.advertising.first_party", "marketing"), covers("marketingx", "marketing")
    (True, False)
    """
    return key == wanted or key.startswith(wanted + ".")


def build_graph(
    snapshot: GraphSnapshot, filters: Filters | None = None, *, data_docs_url: str | None = None
) -> dict[str, Any]:
    """The page's graph of ``snapshot``, narrowed by ``filters``, shaped as :class:`GraphResponse`.

    Plain dicts rather than models: a warehouse has tens of thousands of edges, and the
    route serialises this once (``GraphResponse.model_validate`` checks the shape in tests).

    Returns:
        Datasets (with their kept columns), edges between kept nodes, verdicts with their
        paths, the filter choices of the whole snapshot (facets) and counts.
    """
    filters = filters or Filters()
    closures = filters.purpose or filters.category or filters.sink or filters.focus
    index = _index(snapshot, traversal=bool(closures))
    tags = _tags_by_node(snapshot, index)
    ids = index.ids
    edges = [
        {
            "id": f"e{i}",
            "source": ids[e.source.table][e.source.column],
            "target": ids[e.target.table][e.target.column],
            "kind": e.subtype.kind.value,
            "subtype": e.subtype.value,
            "masking": e.masking,
            "violating": False,
            "inferred": False,
            "description": e.description,
        }
        for i, e in enumerate(snapshot.edges)
    ]
    verdicts = _verdicts(snapshot.verdicts)
    red_nodes, red_edges = _mark_paths(verdicts, index, edges)
    sinks = {v.sink for v in snapshot.verdicts}
    keep = _keep(filters, index, tags)

    datasets = []
    n_columns = 0
    for i, table in enumerate(index.tables):
        table_ids = ids[table]
        if keep is not None and not any(n in keep for n in table_ids.values()):
            continue
        columns = []
        for c in index.columns[table]:
            cid = table_ids[c]
            if keep is None or cid in keep:
                columns.append(
                    {"id": cid, "name": c, "tags": tags.get(cid, []), "violating": cid in red_nodes}
                )
        n_columns += len(columns)
        datasets.append(
            {
                "id": f"d{i}",
                "table": table,
                "namespace": index.namespaces.get(table, "default"),
                "columns": columns,
                "rows_id": table_ids[None],
                "sink": table in sinks,
                "violating": any(n in red_nodes for n in table_ids.values()),
            }
        )
    for edge in edges:
        edge["violating"] = edge["id"] in red_edges
    shown = edges if keep is None else [e for e in edges if e["source"] in keep and e["target"] in keep]
    return {
        "datasets": datasets,
        "edges": shown,
        "verdicts": [v.model_dump(mode="json") for v in verdicts],
        "facets": _facets(snapshot, sinks).model_dump(mode="json"),
        "filters": filters.as_dict(),
        "stats": {
            "datasets": len(datasets),
            "columns": n_columns,
            "edges": len(shown),
            "violating_edges": sum(1 for e in shown if e["violating"]),
        },
        "data_docs_url": data_docs_url,
    }


def merge_snapshots(
    parts: Iterable[GraphSnapshot], *, verdicts: Iterable[Verdict] | None = None
) -> GraphSnapshot:
    """One snapshot of several (e.g. the task runs of one DAG run); datasets merge their columns."""
    parts = list(parts)
    datasets: dict[str, DatasetInfo] = {}
    for part in parts:
        for ds in part.datasets:
            old = datasets.get(ds.table)
            cols = (
                ds.columns
                if old is None
                else old.columns + tuple(c for c in ds.columns if c not in old.columns)
            )
            datasets[ds.table] = DatasetInfo(ds.table, cols, ds.namespace if old is None else old.namespace)

    def union(attr: str) -> tuple:
        return tuple(dict.fromkeys(x for part in parts for x in getattr(part, attr)))

    runs = {r.run_id: r for part in parts for r in part.runs}
    return GraphSnapshot(
        datasets=tuple(datasets.values()),
        edges=union("edges"),
        tags=union("tags"),
        runs=tuple(runs.values()),
        verdicts=union("verdicts") if verdicts is None else tuple(verdicts),
        assertions=union("assertions"),
    )


def run_out(run: RunRecord) -> RunInfoOut:
    return RunInfoOut(
        run_id=run.run_id,
        dag_id=run.dag_id,
        task_id=run.task_id,
        job_name=run.job_name,
        state=run.state,
        started_at=run.started_at,
        ended_at=run.ended_at,
        airflow_run_id=airflow_run_id(run.run_id, run.dag_id, run.task_id),
    )


def verdict_out(verdict: Verdict, *, current: bool = False) -> VerdictInfo:
    return VerdictInfo(
        run_id=verdict.run_id,
        dag_id=verdict.dag_id,
        task_id=verdict.task_id,
        sink=verdict.sink,
        passed=verdict.passed,
        checked_at=verdict.checked_at,
        affected_count=verdict.affected_count,
        violations=[_violation(v) for v in verdict.violations],
        current=current,
        airflow_run_id=airflow_run_id(verdict.run_id, verdict.dag_id, verdict.task_id),
    )


# -- helpers ---------------------------------------------------------------------------------


def _index(snapshot: GraphSnapshot, *, traversal: bool = True) -> _Index:
    index = _Index()
    columns: dict[str, dict[str, None]] = {}

    def add(table: str, column: str | None) -> None:
        cols = columns.setdefault(table, {})
        if column is not None:
            cols.setdefault(column, None)

    for ds in snapshot.datasets:
        index.namespaces.setdefault(ds.table, ds.namespace)
        columns.setdefault(ds.table, {})
        for c in ds.columns:
            add(ds.table, c)
    for e in snapshot.edges:
        add(e.source.table, e.source.column)
        add(e.target.table, e.target.column)
    for t in snapshot.tags:
        add(t.column.table, t.column.column)
    for v in snapshot.verdicts:
        add(v.sink, None)
        for violation in v.violations:  # paths are drawn even where the snapshot is narrower
            for hop in violation.get("path") or ():
                if isinstance(hop, Mapping) and hop.get("table"):
                    add(normalize_table(str(hop["table"])), hop.get("column"))

    index.tables = sorted(columns)
    n = 0
    for d, table in enumerate(index.tables):
        index.columns[table] = list(columns[table])
        rows = f"r{d}"
        table_ids = index.ids[table] = {None: rows}
        index.table_of[rows] = table
        for c in index.columns[table]:
            cid = f"c{n}"
            n += 1
            table_ids[c] = cid
            index.table_of[cid] = table
            if traversal:  # whatever decides the rows of a table reaches each of its columns: a free step
                index.down[rows].append((cid, 0))
                index.up[cid].append((rows, 0))
    if not traversal:
        return index
    for e in snapshot.edges:
        s, t = index.node(e.source.table, e.source.column), index.node(e.target.table, e.target.column)
        index.down[s].append((t, 1))
        index.up[t].append((s, 1))
    return index


def _tags_by_node(snapshot: GraphSnapshot, index: _Index) -> dict[str, list[dict[str, str]]]:
    """Tag badges per node id, shaped as :class:`TagBadge`."""
    out: dict[str, dict[tuple[str, str, str], None]] = defaultdict(dict)
    for t in sorted(snapshot.tags, key=lambda t: (t.category, t.purpose, str(t.source))):
        out[index.node(t.column.table, t.column.column)][(t.category, t.purpose, str(t.source))] = None
    return {n: [{"category": c, "purpose": p, "source": s} for c, p, s in keys] for n, keys in out.items()}


def _closure(
    index: _Index, seeds: Iterable[str], graph: Mapping[str, list[tuple[str, int]]], depth: int | None
) -> set[str]:
    """Nodes within ``depth`` hops of ``seeds`` (0-1 BFS: implicit row-set steps are free)."""
    limit = 10**9 if depth is None else depth
    best: dict[str, int] = {}
    queue: deque[tuple[str, int]] = deque()
    for s in seeds:
        best[s] = 0
        queue.append((s, 0))
    while queue:
        node, d = queue.popleft()
        if d > best.get(node, d):
            continue
        for nxt, cost in graph.get(node, ()):
            nd = d + cost
            if nd <= limit and nd < best.get(nxt, nd + 1):
                best[nxt] = nd
                if cost:
                    queue.append((nxt, nd))
                else:
                    queue.appendleft((nxt, nd))
    return set(best)


def _resolve(index: _Index, name: str) -> list[str]:
    """Node ids named by ``table`` or ``table.column`` (the table wins when both exist)."""
    table = normalize_table(name)
    if table in index.columns:
        return index.table_nodes(table)
    head, _, column = name.rpartition(".")
    head = normalize_table(head)
    if head in index.columns and column in index.columns[head]:
        return [index.node(head, column)]
    return []


def _keep(filters: Filters, index: _Index, tags: Mapping[str, list[dict[str, str]]]) -> set[str] | None:
    sets: list[set[str]] = []
    for key, attr in ((filters.purpose, "purpose"), (filters.category, "category")):
        if key:
            seeds = [n for n, badges in tags.items() if any(covers(b[attr], key) for b in badges)]
            sets.append(_closure(index, seeds, index.down, None))
    if filters.sink:
        sink = normalize_table(filters.sink)
        seeds = index.table_nodes(sink) if sink in index.columns else []
        sets.append(_closure(index, seeds, index.up, None))
    if filters.focus:
        seeds = _resolve(index, filters.focus)
        depth = filters.depth
        kept: set[str] = set(seeds)
        if filters.direction in ("both", "downstream"):
            kept |= _closure(index, seeds, index.down, depth)
        if filters.direction in ("both", "upstream"):
            kept |= _closure(index, seeds, index.up, depth)
        sets.append(kept)
    if filters.q:
        q = filters.q.lower()
        sets.append(
            {
                n
                for table in index.tables
                if q in table or any(q in c.lower() for c in index.columns[table])
                for n in index.table_nodes(table)
            }
        )
    if not sets:
        return None
    keep = sets[0]
    for s in sets[1:]:
        keep &= s
    return keep


def _violation(raw: Mapping[str, Any]) -> ViolationInfo:
    path = [
        PathHop(table=str(h.get("table", "")), column=h.get("column"), edge=h.get("edge"))
        for h in raw.get("path") or ()
        if isinstance(h, Mapping)
    ]
    fields = ("rule", "purpose", "category", "source", "sink")
    return ViolationInfo(
        **{k: str(raw.get(k) or "") for k in fields},
        source_column=raw.get("source_column"),
        sink_column=raw.get("sink_column"),
        path=path,
    )


def _verdicts(verdicts: Iterable[Verdict]) -> list[VerdictInfo]:
    ordered = sorted(verdicts, key=lambda v: v.checked_at, reverse=True)
    seen: set[tuple[str, str, str]] = set()
    out = []
    for v in ordered:
        key = (v.dag_id, v.task_id, v.sink)
        out.append(verdict_out(v, current=key not in seen))
        seen.add(key)
    return out


def _mark_paths(
    verdicts: list[VerdictInfo], index: _Index, edges: list[dict[str, Any]]
) -> tuple[set[str], set[str]]:
    """Nodes and edges on the paths of current failed verdicts; missing steps become inferred edges."""
    failing = [v for v in verdicts if v.current and not v.passed]
    red_nodes: set[str] = set()
    red_edges: set[str] = set()
    if not failing:
        return red_nodes, red_edges
    into: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in edges:
        into[e["target"]].append(e)
    for verdict in failing:
        for violation in verdict.violations:
            ids = [_hop_id(index, h) for h in violation.path]
            red_nodes.update(i for i in ids if i)
            for k in range(1, len(ids)):
                a, b, ia, ib = violation.path[k - 1], violation.path[k], ids[k - 1], ids[k]
                if not ia or not ib:
                    continue
                subtype = (b.edge or "").rpartition("/")[2]
                candidates = [e for e in into.get(ib, ()) if not subtype or e["subtype"] == subtype]
                found = [e for e in candidates if e["source"] == ia]
                if not found and a.column is None:  # implicit step out of a row set
                    table = index.table_of[ia]
                    found = [e for e in candidates if index.table_of[e["source"]] == table]
                if not found:
                    kind = (b.edge or "INDIRECT/").partition("/")[0] or "INDIRECT"
                    edge = {
                        "id": f"v{len(edges)}",
                        "source": ia,
                        "target": ib,
                        "kind": kind,
                        "subtype": subtype or "UNKNOWN",
                        "masking": False,
                        "violating": True,
                        "inferred": True,
                        "description": None,
                    }
                    edges.append(edge)
                    into[ib].append(edge)
                    found = [edge]
                red_edges.update(e["id"] for e in found)
    return red_nodes, red_edges


def _hop_id(index: _Index, hop: PathHop) -> str | None:
    return index.ids.get(normalize_table(hop.table), {}).get(hop.column)


def _facets(snapshot: GraphSnapshot, sinks: set[str]) -> Facets:
    dags = {r.dag_id for r in snapshot.runs if r.dag_id} | {v.dag_id for v in snapshot.verdicts if v.dag_id}
    runs = sorted(snapshot.runs, key=lambda r: r.started_at or _EPOCH, reverse=True)
    has_out = {e.source.table for e in snapshot.edges}
    terminal = {e.target.table for e in snapshot.edges} - has_out
    return Facets(
        purposes=sorted({t.purpose for t in snapshot.tags}),
        categories=sorted({t.category for t in snapshot.tags}),
        sinks=sorted(sinks | terminal),
        dags=sorted(dags),
        runs=[run_out(r) for r in runs],
    )
