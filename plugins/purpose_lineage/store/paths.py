"""Path search over an id graph with row-set steps (pure Python, no database).

Nodes are column ids. Each table has one *row-set* node; whatever flows into it decides
which rows the table holds, so it reaches every column of the table at no cost (an
implicit step that no edge records). The same code serves the stores (on the slice of the
graph between sources and sink that they fetch) and the in-memory baseline of the benchmark.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from purpose_lineage.errors import PathLimitError

E = TypeVar("E", bound=Hashable)


@dataclass
class IdGraph(Generic[E]):
    """Edges ``(source, target, payload)`` plus, per node, its table and whether it is the row set.

    >>> g = IdGraph()
    >>> g.add_node(1, table=10); g.add_node(2, table=20, rows=True); g.add_node(3, table=20)
    >>> g.add_node(4, table=30)
    >>> g.add_edge(1, 2, "JOIN"); g.add_edge(3, 4, "COPY")
    >>> g.paths({1}, {4}, depth=5)
    [['JOIN', 'COPY']]
    """

    out: dict[int, list[tuple[int, E]]] = field(default_factory=lambda: defaultdict(list))
    inc: dict[int, list[tuple[int, E]]] = field(default_factory=lambda: defaultdict(list))
    table: dict[int, int] = field(default_factory=dict)
    row_node: dict[int, int] = field(default_factory=dict)  # table -> its row-set node
    columns: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))  # table -> other nodes

    def add_node(self, node: int, *, table: int, rows: bool = False) -> None:
        if node in self.table:
            return
        self.table[node] = table
        if rows:
            self.row_node[table] = node
        else:
            self.columns[table].append(node)

    def add_edge(self, source: int, target: int, payload: E) -> None:
        self.out[source].append((target, payload))
        self.inc[target].append((source, payload))

    def successors(self, node: int) -> Iterable[tuple[int, int, E]]:
        """``(from, to, payload)`` leaving ``node``; a row set also leaves through its table's columns."""
        for target, payload in self.out.get(node, ()):
            yield node, target, payload
        table = self.table.get(node)
        if table is not None and self.row_node.get(table) == node:
            for col in self.columns.get(table, ()):
                for target, payload in self.out.get(col, ()):
                    yield col, target, payload

    def distances_to(self, sinks: Iterable[int], depth: int) -> dict[int, int]:
        """Fewest edges from each node to any of ``sinks`` (at most ``depth``); row-set steps are free."""
        dist: dict[int, int] = {}
        todo: deque[tuple[int, int]] = deque((s, 0) for s in sinks)
        while todo:
            node, d = todo.popleft()
            if node in dist and dist[node] <= d:
                continue
            dist[node] = d
            table = self.table.get(node)
            rows = self.row_node.get(table) if table is not None else None
            if rows is not None and rows != node and dist.get(rows, depth + 1) > d:
                todo.appendleft((rows, d))  # the row set reaches this column for free
            if d < depth:
                for source, _ in self.inc.get(node, ()):
                    if dist.get(source, depth + 1) > d + 1:
                        todo.append((source, d + 1))
        return dist

    def paths(
        self, sources: Iterable[int], sinks: Iterable[int], depth: int, max_paths: int = 10_000
    ) -> list[list[E]]:
        """Every simple path (list of payloads) from a source to a sink node, at most ``depth`` edges.

        A path stops at the first sink node it reaches. Raises StoreError past ``max_paths``.
        """
        sink_set = set(sinks)
        dist = self.distances_to(sink_set, depth)
        found: dict[tuple[E, ...], None] = {}  # a table's row set and its columns share paths
        for start in sorted(set(sources)):
            if start in sink_set or start not in dist:
                continue
            self._walk(start, sink_set, dist, depth, max_paths, found)
        return [list(p) for p in found]

    def _walk(
        self, start: int, sinks: set[int], dist: Mapping[int, int], depth: int, max_paths: int, found: dict
    ) -> None:
        # iterative DFS: (node, path so far, visited, iterator over successors)
        stack = [(start, [], {start}, iter(list(self.successors(start))))]
        while stack:
            node, path, seen, it = stack[-1]
            step = next(it, None)
            if step is None:
                stack.pop()
                continue
            via, target, payload = step
            if target in seen or (via != node and via in seen):
                continue
            if len(path) + 1 + dist.get(target, depth + 1) > depth:
                continue
            new_path = [*path, payload]
            if target in sinks:
                found[tuple(new_path)] = None
                if len(found) > max_paths:
                    raise PathLimitError(
                        f"more than {max_paths} lineage paths into the sink; refusing a truncated answer"
                    )
                continue
            stack.append((target, new_path, seen | {via, target}, iter(list(self.successors(target)))))
