"""Graph searches: closures and the guard's paths, narrowed by the table-level graph first.

``pl_dataset_edges`` (one row per pair of tables, about 20 times smaller than the column graph)
is walked first, in one recursive statement; the column edges are then fetched once, only among
the tables that can matter, and searched in memory (:class:`~.paths.IdGraph`). A column is never
closer to another than its table is, so pruning by table distance loses no path.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource
from purpose_lineage.store.apply import Conn
from purpose_lineage.store.base import edge_key, path_key
from purpose_lineage.store.batch import ROWS, normalize_column
from purpose_lineage.store.paths import IdGraph

# the table-level edges met walking from some tables, upstream (or downstream), within a depth
_WALK = (
    "WITH RECURSIVE walk(id, d) AS ("
    " SELECT id, 0 FROM (SELECT unnest(?::BIGINT[]) AS id) s"
    " UNION"
    " SELECT de.{next}, w.d + 1 FROM walk w JOIN pl_dataset_edges de ON de.{this} = w.id WHERE w.d < ?) "
    "SELECT DISTINCT de.source_dataset_id, de.target_dataset_id FROM pl_dataset_edges de "
    "WHERE de.{this} IN (SELECT id FROM walk WHERE d < ?)"
)
WALK_UP = _WALK.format(next="source_dataset_id", this="target_dataset_id")
WALK_DOWN = _WALK.format(next="target_dataset_id", this="source_dataset_id")

# column edges among some tables, with the table of both ends
EDGES_AMONG = (
    "WITH cc AS (SELECT id, dataset_id, name FROM pl_columns "
    "WHERE dataset_id IN (SELECT unnest(?::BIGINT[]))) "
    "SELECT e.source_id, s.dataset_id, s.name, e.target_id, t.dataset_id, t.name, e.subtype, e.masking, "
    "e.description FROM pl_edges e JOIN cc s ON s.id = e.source_id JOIN cc t ON t.id = e.target_id"
)


def _in(values: Sequence) -> str:
    """``(?, ?, ...)``: literal lists let DuckDB use the primary-key index for a few ids."""
    return "(" + ",".join("?" * len(values)) + ")"


def _dataset_names(c: Conn, ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    names: dict[int, str] = {}
    for i in range(0, len(ids), 500):  # primary-key lookups
        chunk = ids[i : i + 500]
        names.update(
            (int(k), v) for k, v in c.q(f"SELECT id, name FROM pl_datasets WHERE id IN {_in(chunk)}", chunk)
        )
    return names


def _distances(start: Iterable[int], adjacency: dict[int, list[int]], depth: int) -> dict[int, int]:
    dist = {s: 0 for s in start}
    todo = deque(dist)
    while todo:
        node = todo.popleft()
        if dist[node] >= depth:
            continue
        for nxt in adjacency.get(node, ()):
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                todo.append(nxt)
    return dist


def _table_walk(c: Conn, start: Iterable[int], depth: int, *, up: bool):
    """Table-level edges reachable from ``start`` (upstream or downstream), and the distances."""
    start = sorted(set(start))
    rows = c.q(WALK_UP if up else WALK_DOWN, [start, depth, depth]) if start and depth else []
    forward: dict[int, list[int]] = defaultdict(list)  # source table -> target tables
    backward: dict[int, list[int]] = defaultdict(list)
    for s, t in rows:
        forward[int(s)].append(int(t))
        backward[int(t)].append(int(s))
    return _distances(start, backward if up else forward, depth), forward, backward


class _Edges:
    """Column edges fetched once; ``Edge`` objects made only for those returned."""

    def __init__(self, c: Conn, tables: Iterable[int]):
        self.c = c
        self.tables = sorted(set(tables))
        self.rows = c.q(EDGES_AMONG, [self.tables]) if self.tables else []
        self.graph: IdGraph[int] = IdGraph()
        for k, (s, s_ds, s_name, t, t_ds, t_name, *_rest) in enumerate(self.rows):
            self.graph.add_node(s, table=s_ds, rows=s_name == ROWS)
            self.graph.add_node(t, table=t_ds, rows=t_name == ROWS)
            self.graph.add_edge(s, t, k)
        self._names: dict[int, str] = {}
        self._made: dict[int, Edge] = {}

    def edge(self, k: int) -> Edge:
        if k not in self._made:
            if not self._names:
                self._names = _dataset_names(self.c, self.tables)
            s, s_ds, s_name, t, t_ds, t_name, sub, masking, desc = self.rows[k]
            self._made[k] = Edge(
                ColumnRef(self._names[s_ds], s_name or None),
                ColumnRef(self._names[t_ds], t_name or None),
                Subtype(sub),
                bool(masking),
                desc,
            )
        return self._made[k]


def start_columns(c: Conn, target: ColumnRef) -> dict[int, tuple[int, bool]]:
    """{column id: (table id, is the row set)} of a column, or of every column and row set of a table."""
    sql = (
        "SELECT c.id, c.dataset_id, c.name FROM pl_columns c JOIN pl_datasets d ON d.id = c.dataset_id "
        "WHERE d.name = ?"
    )
    params: list = [target.table]
    if target.column is not None:
        sql += " AND c.name = ?"
        params.append(normalize_column(target.column))
    return {int(i): (int(d), name == ROWS) for i, d, name in c.q(sql, params)}


def closure(c: Conn, target: ColumnRef, depth: int, *, up: bool) -> list[Edge]:
    """Edges met within ``depth`` hops upstream (downstream) of a column or table.

    The column walk runs inside the database, over the edges of the tables the table-level walk
    reached (copied to temporary tables), so that only the answer crosses to Python.
    """
    start = start_columns(c, target)
    if not start or depth == 0:
        return []
    if c.dialect != "duckdb":
        return _closure_by_index(c, sorted(start), depth, up=up)
    dist, _, _ = _table_walk(c, [d for d, _ in start.values()], depth, up=up)
    drop = ""
    for name in ("pl_tmp_cols", "pl_tmp_map", "pl_tmp_edges"):
        c.x(f"DROP TABLE IF EXISTS {name}")
    c.x(
        f"CREATE TEMP TABLE pl_tmp_cols{drop} AS SELECT c.id, c.dataset_id, c.name, r.id AS rows_id, "
        "d.name AS table_name FROM pl_columns c "
        "JOIN pl_columns r ON r.dataset_id = c.dataset_id AND r.name = '' "
        "JOIN pl_datasets d ON d.id = c.dataset_id WHERE c.dataset_id IN (SELECT unnest(?::BIGINT[]))",
        [sorted(dist)],
    )
    # one step from a column: itself and (upstream) its table's row set, or (downstream) from a
    # row set every column of its table; as an equi-join map, which both engines join fast
    if up:
        step = "SELECT id, id AS hop FROM pl_tmp_cols UNION SELECT id, rows_id FROM pl_tmp_cols"
        near, far = "target_id", "source_id"
    else:
        step = (
            "SELECT id, id AS hop FROM pl_tmp_cols UNION "
            "SELECT r.rows_id, c.id FROM pl_tmp_cols r JOIN pl_tmp_cols c ON c.dataset_id = r.dataset_id "
            "WHERE r.name = ''"
        )
        near, far = "source_id", "target_id"
    c.x(f"CREATE TEMP TABLE pl_tmp_map{drop} AS {step}")
    c.x(
        f"CREATE TEMP TABLE pl_tmp_edges{drop} AS SELECT e.source_id, e.target_id, e.subtype, e.masking, "
        "e.description FROM pl_edges e JOIN pl_tmp_cols s ON s.id = e.source_id "
        "JOIN pl_tmp_cols t ON t.id = e.target_id"
    )
    rows = c.q(
        "WITH RECURSIVE walk(id, d) AS ("
        " SELECT id, 0 FROM (SELECT unnest(?::BIGINT[]) AS id) s"
        " UNION"
        f" SELECT e.{far}, w.d + 1 FROM walk w JOIN pl_tmp_map m ON m.id = w.id"
        f" JOIN pl_tmp_edges e ON e.{near} = m.hop WHERE w.d < ?), "
        "hops AS (SELECT DISTINCT m.hop FROM walk w JOIN pl_tmp_map m ON m.id = w.id WHERE w.d < ?) "
        "SELECT s.table_name, s.name, t.table_name, t.name, e.subtype, e.masking, e.description "
        f"FROM pl_tmp_edges e JOIN hops h ON e.{near} = h.hop "
        "JOIN pl_tmp_cols s ON s.id = e.source_id JOIN pl_tmp_cols t ON t.id = e.target_id",
        [sorted(start), depth, depth],
    )
    # edge_key order, computed on the raw rows; one ColumnRef per column (large closures)
    rows.sort(key=lambda r: (r[0], r[1] != "", r[1], r[2], r[3] != "", r[3], r[4], bool(r[5]), r[6] or ""))
    refs: dict[tuple[str, str], ColumnRef] = {}
    subtypes = {s.value: s for s in Subtype}

    def ref(table: str, column: str) -> ColumnRef:
        got = refs.get((table, column))
        if got is None:
            got = refs[(table, column)] = ColumnRef(table, column or None)
        return got

    return [Edge(ref(st, sc), ref(tt, tc), subtypes[sub], bool(m), d) for st, sc, tt, tc, sub, m, d in rows]


# PostgreSQL: one statement per level, each an index lookup (btree on both edge ends)
_UP_LEVEL = (
    "WITH f AS (SELECT unnest(?::BIGINT[]) AS id), "
    "t AS (SELECT id FROM f UNION SELECT r.id FROM f JOIN pl_columns c ON c.id = f.id "
    "JOIN pl_columns r ON r.dataset_id = c.dataset_id AND r.name = '') "
    "SELECT e.source_id, e.target_id, e.subtype, e.masking, e.description FROM pl_edges e "
    "JOIN t ON e.target_id = t.id"
)
_DOWN_LEVEL = (
    "WITH f AS (SELECT unnest(?::BIGINT[]) AS id), "
    "s AS (SELECT id FROM f UNION SELECT c.id FROM f JOIN pl_columns r ON r.id = f.id AND r.name = '' "
    "JOIN pl_columns c ON c.dataset_id = r.dataset_id) "
    "SELECT e.source_id, e.target_id, e.subtype, e.masking, e.description FROM pl_edges e "
    "JOIN s ON e.source_id = s.id"
)


def _closure_by_index(c: Conn, start: list[int], depth: int, *, up: bool) -> list[Edge]:
    seen = set(start)
    frontier = start
    keys: dict[tuple[int, int, str], tuple[bool, str | None]] = {}
    for _ in range(depth):
        if not frontier:
            break
        nxt = []
        for s, t, sub, m, d in c.q(_UP_LEVEL if up else _DOWN_LEVEL, [frontier]):
            keys[(s, t, sub)] = (bool(m), d)
            n = s if up else t
            if n not in seen:
                seen.add(n)
                nxt.append(n)
        frontier = nxt
    if not keys:
        return []
    ids = sorted({n for s, t, _ in keys for n in (s, t)})
    names = {
        int(i): (t, n)
        for i, t, n in c.q(
            "SELECT c.id, d.name, c.name FROM pl_columns c JOIN pl_datasets d ON d.id = c.dataset_id "
            "WHERE c.id = ANY(?::BIGINT[])",
            [ids],
        )
    }
    out = []
    for (s, t, sub), (m, d) in keys.items():
        (st, sc), (tt, tc) = names[s], names[t]
        out.append(Edge(ColumnRef(st, sc or None), ColumnRef(tt, tc or None), Subtype(sub), m, d))
    return sorted(out, key=edge_key)


def paths_into(
    c: Conn,
    sink: str,
    *,
    sources: list[ColumnRef] | None,
    purposes: list[str] | None,
    categories: list[str] | None,
    where: Callable[[Tag], bool] | None,
    tag_sources: set[str],
    depth: int,
    max_paths: int,
) -> list[list[Edge]]:
    """The guard's question; see :meth:`LineageStore.paths_into`.

    Statements: the sink's id; the table-level edges upstream of it; the tagged columns (a small
    table) and their names; the column edges among the tables between sources and sink.
    """
    if c.dialect == "duckdb":
        # small, latency-bound statements: one thread avoids waiting on the others (measured: the
        # corridor fetch at 10M edges takes 10-16 ms on one thread, 37 ms on two)
        c.x("SET threads = 1")
    got = c.q("SELECT id FROM pl_datasets WHERE name = ?", [sink])
    if not got:
        return []
    sink_ds = int(got[0][0])
    anc, forward, _ = _table_walk(c, [sink_ds], depth, up=True)
    start: dict[int, tuple[int, bool]] = {}  # column id -> (table id, is the row set)
    if sources is not None:
        for s in sources:
            start.update(start_columns(c, s))
    else:
        tagged = {}
        for col_id, category, purpose, source in c.q(
            f"SELECT column_id, category, purpose, source FROM pl_tags WHERE source IN {_in(tag_sources)}",
            sorted(tag_sources),
        ):
            if purpose_match(purpose, purposes) and purpose_match(category, categories):
                tagged.setdefault(int(col_id), []).append((category, purpose, source))
        ids = sorted(tagged)
        cols = []  # primary-key lookups: the tagged columns are few, the columns many
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cols += c.q(f"SELECT id, dataset_id, name FROM pl_columns WHERE id IN {_in(chunk)}", chunk)
        cols = [(int(i), int(ds), name) for i, ds, name in cols if int(ds) in anc]
        names = _dataset_names(c, {ds for _, ds, _ in cols})
        for col_id, ds, column in cols:
            ref = ColumnRef(names[ds], column or None)
            if where is None or any(
                where(Tag(ref, cat, pur, TagSource(src))) for cat, pur, src in tagged[col_id]
            ):
                start[col_id] = (ds, column == ROWS)
    start = {i: (d, rows) for i, (d, rows) in start.items() if d in anc and d != sink_ds}
    if not start:
        return []
    fwd = _distances({d for d, _ in start.values()}, forward, depth)
    corridor = [t for t, k in fwd.items() if k + anc.get(t, depth + 1) <= depth]
    edges = _Edges(c, corridor)
    for node, (table, rows) in start.items():  # a source may have no edge of its own (a row set)
        edges.graph.add_node(node, table=table, rows=rows)
    sinks = [n for n, t in edges.graph.table.items() if t == sink_ds]
    found = edges.graph.paths(list(start), sinks, depth, max_paths)
    return sorted(([edges.edge(k) for k in p] for p in found), key=path_key)


def purpose_match(value: str, wanted: Iterable[str] | None) -> bool:
    """``value`` equals or descends from one of ``wanted`` (fideslang keys are dotted paths).

    >>> purpose_match("essential.service.security", ["essential.service"]), purpose_match("essential", ["e"])
    (True, False)
    """
    if wanted is None:
        return True
    return any(value == w or value.startswith(w + ".") for w in wanted)
