"""Path search with row-set steps (pure, no database)."""

from __future__ import annotations

import pytest

from purpose_lineage.errors import StoreError
from purpose_lineage.store.paths import IdGraph


def graph(nodes, edges) -> IdGraph:
    g = IdGraph()
    for node, table, rows in nodes:
        g.add_node(node, table=table, rows=rows)
    for s, t, label in edges:
        g.add_edge(s, t, label)
    return g


# tables: 1 users_2fa (phone=10), 2 matched (rows=20, user_id=21, x=22), 3 audience (rows=30, user_id=31)
NODES = [(10, 1, False), (20, 2, True), (21, 2, False), (22, 2, False), (30, 3, True), (31, 3, False)]


def test_a_join_key_reaches_every_column_of_the_joined_table():
    g = graph(NODES, [(10, 20, "JOIN"), (21, 31, "COPY"), (22, 31, "AGG")])
    assert sorted(g.paths({10}, {30, 31}, depth=20)) == [["JOIN", "AGG"], ["JOIN", "COPY"]]
    assert g.paths({10}, {30, 31}, depth=1) == []
    assert g.distances_to({31}, 5) == {31: 0, 21: 1, 22: 1, 20: 1, 10: 2, 30: 0}


def test_paths_are_simple_and_stop_at_the_sink():
    g = graph(NODES, [(10, 21, "A"), (21, 22, "B"), (22, 21, "C"), (22, 31, "D"), (31, 30, "E")])
    assert g.paths({10}, {31, 30}, depth=20) == [["A", "B", "D"]]


def test_too_many_paths_is_an_error_not_a_truncation():
    nodes = [(1, 1, False)] + [(100 + i, 2, False) for i in range(10)] + [(5, 3, False)]
    edges = [(1, 100 + i, f"a{i}") for i in range(10)] + [(100 + i, 5, f"b{i}") for i in range(10)]
    g = graph(nodes, edges)
    assert len(g.paths({1}, {5}, depth=2)) == 10
    with pytest.raises(StoreError):
        g.paths({1}, {5}, depth=2, max_paths=9)


def test_a_source_inside_the_sink_has_no_path():
    g = graph(NODES, [(21, 31, "COPY")])
    assert g.paths({31}, {30, 31}, depth=3) == []
