"""Graph searches: closures and the guard's paths, narrowed by the table-level graph first.

``pl_dataset_edges`` (one row per pair of tables, about 20 times smaller than the column graph)
is walked first, in one recursive statement; the column edges are then fetched once, only among
the tables that can matter, and searched in memory (:class:`~.paths.IdGraph`). A column is never
closer to another than its table is, so pruning by table distance loses no path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource
from purpose_lineage.store.apply import Conn
from purpose_lineage.store.base import edge_key
from purpose_lineage.store.batch import ROWS, normalize_column
from purpose_lineage.store.paths import IdGraph

# ``walk(id, d)``: the tables within ``depth`` table edges upstream (downstream) of some tables
_TABLES = (
    "WITH RECURSIVE walk(id, d) AS ("
    " SELECT id, 0 FROM (SELECT unnest(?::BIGINT[]) AS id) s"
    " UNION"
    " SELECT de.{next}, w.d + 1 FROM walk w JOIN pl_dataset_edges de ON de.{this} = w.id WHERE w.d < ?)"
)
TABLES_UP = _TABLES.format(next="source_dataset_id", this="target_dataset_id")
TABLES_DOWN = _TABLES.format(next="target_dataset_id", this="source_dataset_id")

# The guard's corridor in one statement: the tables upstream of the sink (``up``, with their
# distance to it), the tables reachable from the source tables among those (``down``), and of
# these the ones on a source-to-sink walk of at most ``depth`` table edges; then the column edges
# among the corridor's tables. Only those rows cross to Python (the upstream of one sink at 10M
# edges is some 20k tables; the corridor a few dozen). UNION keeps one row per (table, distance),
# so a DAG's fan-in never multiplies rows.
_CORRIDOR = """WITH RECURSIVE up(id, d) AS (
  SELECT ?::BIGINT, 0
  UNION
  SELECT de.source_dataset_id, up.d + 1 FROM up
  JOIN pl_dataset_edges de ON de.target_dataset_id = up.id WHERE up.d < ?),
u AS MATERIALIZED (SELECT id, min(d) AS d FROM up GROUP BY id),
{down},
corridor AS MATERIALIZED (SELECT dn.id FROM down dn JOIN u ON u.id = dn.id
  GROUP BY dn.id, u.d HAVING min(dn.d) + u.d <= ?),
cc AS MATERIALIZED (SELECT c.id, c.dataset_id, c.name FROM pl_columns c
  WHERE c.dataset_id IN (SELECT id FROM corridor))
SELECT e.source_id, s.dataset_id, s.name, e.target_id, t.dataset_id, t.name, e.subtype, e.masking,
  e.description FROM pl_edges e JOIN cc t ON t.id = e.target_id JOIN cc s ON s.id = e.source_id"""
_DOWN_START = "SELECT u.id, 0 FROM u WHERE u.id IN (SELECT unnest(?::BIGINT[]))"
CORRIDOR_EDGES = {
    # DuckDB joins by hashing: walk down the (small) table edges among ``u``, copied once
    "duckdb": _CORRIDOR.format(
        down="ue AS MATERIALIZED (SELECT de.source_dataset_id AS s, de.target_dataset_id AS t\n"
        "  FROM pl_dataset_edges de JOIN u ON u.id = de.target_dataset_id),\n"
        f"down(id, d) AS (\n  {_DOWN_START}\n  UNION\n"
        "  SELECT ue.t, down.d + 1 FROM down JOIN ue ON ue.s = down.id WHERE down.d < ?)"
    ),
    # PostgreSQL looks up each step in the primary key; ``u`` is hashed once
    "postgresql": _CORRIDOR.format(
        down=f"down(id, d) AS (\n  {_DOWN_START}\n  UNION\n"
        "  SELECT de.target_dataset_id, down.d + 1 FROM down\n"
        "  JOIN pl_dataset_edges de ON de.source_dataset_id = down.id\n"
        "  WHERE down.d < ? AND de.target_dataset_id IN (SELECT id FROM u))"
    ),
}


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


class _Edges:
    """Column edges fetched once; ``Edge`` objects made only for those returned."""

    def __init__(self, c: Conn, rows: list[tuple]):
        self.c = c
        self.rows = rows
        self.graph: IdGraph[int] = IdGraph()
        add_node, add_edge = self.graph.add_node, self.graph.add_edge
        for k, (s, s_ds, s_name, t, t_ds, t_name, *_rest) in enumerate(rows):
            add_node(s, table=s_ds, rows=s_name == ROWS)
            add_node(t, table=t_ds, rows=t_name == ROWS)
            add_edge(s, t, k)
        self.tables = set(self.graph.table.values())
        self._names: dict[int, str] = {}
        self._refs: dict[int, ColumnRef] = {}
        self._made: dict[int, Edge] = {}

    def _ref(self, col: int, table: int, name: str) -> ColumnRef:
        got = self._refs.get(col)
        if got is None:
            if not self._names:
                self._names = _dataset_names(self.c, self.tables)
            got = self._refs[col] = ColumnRef(self._names[table], name or None)
        return got

    def edge(self, k: int) -> Edge:
        got = self._made.get(k)
        if got is None:
            s, s_ds, s_name, t, t_ds, t_name, sub, masking, desc = self.rows[k]
            got = self._made[k] = Edge(
                self._ref(s, s_ds, s_name), self._ref(t, t_ds, t_name), Subtype(sub), bool(masking), desc
            )
        return got

    def sorted_paths(self, found: list[list[int]]) -> list[list[Edge]]:
        """Paths in :func:`path_key` order: each edge's key computed once, paths compared by rank.

        Distinct rows have distinct keys (one row per source, target and subtype), so comparing
        lists of ranks orders the paths exactly as comparing lists of keys would.
        """
        used = sorted({k for p in found for k in p}, key=lambda k: edge_key(self.edge(k)))
        rank = {k: i for i, k in enumerate(used)}
        found = sorted(found, key=lambda p: [rank[k] for k in p])
        made = self._made
        return [[made[k] for k in p] for p in found]


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
    drop = ""
    for name in ("pl_tmp_cols", "pl_tmp_map", "pl_tmp_edges"):
        c.x(f"DROP TABLE IF EXISTS {name}")
    # the columns of the tables within depth (table walk in the same statement: no round trip)
    c.x(
        f"CREATE TEMP TABLE pl_tmp_cols{drop} AS {TABLES_UP if up else TABLES_DOWN} "
        "SELECT c.id, c.dataset_id, c.name, r.id AS rows_id, d.name AS table_name FROM pl_columns c "
        "JOIN pl_columns r ON r.dataset_id = c.dataset_id AND r.name = '' "
        "JOIN pl_datasets d ON d.id = c.dataset_id WHERE c.dataset_id IN (SELECT id FROM walk)",
        [sorted({d for d, _ in start.values()}), depth],
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
        "SELECT e.source_id, s.table_name, s.name, e.target_id, t.table_name, t.name, e.subtype, e.masking, "
        f"e.description FROM pl_tmp_edges e JOIN hops h ON e.{near} = h.hop "
        "JOIN pl_tmp_cols s ON s.id = e.source_id JOIN pl_tmp_cols t ON t.id = e.target_id "
        # edge_key order (a row set's name '' sorts first; DuckDB compares text by code point)
        "ORDER BY s.table_name, s.name, t.table_name, t.name, e.subtype, e.masking, "
        "coalesce(e.description, '')",
        [sorted(start), depth, depth],
    )
    return _make_edges(rows)


def _make_edges(rows: Iterable[Sequence]) -> list[Edge]:
    """Edges from ``(source id, table, column, target id, table, column, subtype, masking, description)``
    rows, in their order; one ColumnRef per column (closures hold 100k edges and more)."""
    refs: dict[int, ColumnRef] = {}
    subtypes = {s.value: s for s in Subtype}
    new = object.__new__
    out = []
    append = out.append
    for sid, st, sc, tid, tt, tc, sub, m, d in rows:
        source = refs.get(sid)
        if source is None:
            source = refs[sid] = ColumnRef(st, sc or None)
        target = refs.get(tid)
        if target is None:
            target = refs[tid] = ColumnRef(tt, tc or None)
        # Edge's frozen-dataclass __init__ sets each field through object.__setattr__: filling
        # __dict__ directly builds the same object (no __post_init__ to skip) in half the time
        e = new(Edge)
        e.__dict__.update(source=source, target=target, subtype=subtypes[sub], masking=bool(m), description=d)
        append(e)
    return out


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
    rows = [(s, *names[s], t, *names[t], sub, m, d) for (s, t, sub), (m, d) in keys.items()]
    rows.sort(key=lambda r: (r[1], r[2], r[4], r[5], r[6], r[7], r[8] or ""))  # edge_key order
    return _make_edges(rows)


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

    Statements: the sink's id; the source columns (tagged columns are few: primary-key lookups);
    :data:`CORRIDOR_EDGES` (the column edges among the tables between sources and sink); the
    names of the tables on a path. The path search runs in memory on the corridor only.
    """
    if c.dialect == "duckdb":
        # small, latency-bound statements: one thread avoids waiting on the others (measured: the
        # corridor fetch at 10M edges takes 10-16 ms on one thread, 37 ms on two)
        c.x("SET threads = 1")
    got = c.q("SELECT id FROM pl_datasets WHERE name = ?", [sink])
    if not got:
        return []
    sink_ds = int(got[0][0])
    start: dict[int, tuple[int, bool]] = {}  # column id -> (table id, is the row set)
    tagged: dict[int, list[tuple[str, str, str]]] = {}
    col_names: dict[int, str] = {}
    if sources is not None:
        for s in sources:
            start.update(start_columns(c, s))
    else:
        for col_id, category, purpose, source in c.q(
            f"SELECT column_id, category, purpose, source FROM pl_tags WHERE source IN {_in(tag_sources)}",
            sorted(tag_sources),
        ):
            if purpose_match(purpose, purposes) and purpose_match(category, categories):
                tagged.setdefault(int(col_id), []).append((category, purpose, source))
        ids = sorted(tagged)
        for i in range(0, len(ids), 500):  # primary-key lookups: the tagged columns are few, the columns many
            chunk = ids[i : i + 500]
            for col_id, ds, name in c.q(
                f"SELECT id, dataset_id, name FROM pl_columns WHERE id IN {_in(chunk)}", chunk
            ):
                start[int(col_id)] = (int(ds), name == ROWS)
                col_names[int(col_id)] = name
    start = {i: (d, rows) for i, (d, rows) in start.items() if d != sink_ds}
    if not start:
        return []
    source_tables = sorted({d for d, _ in start.values()})
    rows = c.q(CORRIDOR_EDGES[c.dialect], [sink_ds, depth, source_tables, depth, depth])
    edges = _Edges(c, rows)
    start = {i: v for i, v in start.items() if v[0] in edges.tables}  # the others reach no sink
    if where is not None and tagged and start:
        names = _dataset_names(c, {d for d, _ in start.values()})
        start = {
            col_id: (ds, rows_)
            for col_id, (ds, rows_) in start.items()
            if any(
                where(Tag(ColumnRef(names[ds], col_names[col_id] or None), cat, pur, TagSource(src)))
                for cat, pur, src in tagged[col_id]
            )
        }
    for node, (table, rows_) in start.items():  # a source may have no edge of its own (a row set)
        edges.graph.add_node(node, table=table, rows=rows_)
    sinks = [n for n, t in edges.graph.table.items() if t == sink_ds]
    found = edges.graph.paths(list(start), sinks, depth, max_paths)
    return edges.sorted_paths(found)


def purpose_match(value: str, wanted: Iterable[str] | None) -> bool:
    """``value`` equals or descends from one of ``wanted`` (fideslang keys are dotted paths).

    >>> purpose_match("essential.service.security", ["essential.service"]), purpose_match("essential", ["e"])
    (True, False)
    """
    if wanted is None:
        return True
    return any(value == w or value.startswith(w + ".") for w in wanted)
