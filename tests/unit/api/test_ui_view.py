"""The lineage page's graph: ids, filters, red paths and facets over a GraphSnapshot."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from purpose_lineage.api.ui_schemas import GraphResponse
from purpose_lineage.api.ui_view import Filters
from purpose_lineage.api.ui_view import build_graph as build_raw
from purpose_lineage.core.model import ColumnRef, Edge, Hop, Subtype, Tag, TagSource, Violation
from purpose_lineage.store.base import DatasetInfo, GraphSnapshot, RunRecord, Verdict

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SECURITY = "essential.service.security"
PHONE = "user.contact.phone_number"


def c(table, column):
    return ColumnRef(table, column)


EDGES = (
    Edge(
        c("main.users_2fa", "phone_number"), c("staging.keys", "phone_sha256"), Subtype.TRANSFORMATION, True
    ),
    Edge(c("main.users_2fa", "user_id"), c("staging.keys", "user_id"), Subtype.IDENTITY),
    Edge(c("staging.keys", "phone_sha256"), c("marts.audience", None), Subtype.JOIN),
    Edge(c("staging.keys", "user_id"), c("marts.audience", "user_id"), Subtype.IDENTITY),
    Edge(c("main.users", "email"), c("marts.campaign", "email_sha256"), Subtype.TRANSFORMATION, True),
    Edge(c("main.users", "opt_in"), c("marts.campaign", None), Subtype.FILTER),
)
TAGS = (
    Tag(c("main.users_2fa", "phone_number"), PHONE, SECURITY),
    Tag(
        c("staging.keys", "phone_sha256"),
        PHONE,
        SECURITY,
        TagSource.PROPAGATED,
        c("main.users_2fa", "phone_number"),
    ),
    Tag(c("main.users", "email"), "user.contact.email", "marketing.advertising.first_party"),
)
VIOLATION = Violation(
    "no-security-for-ads",
    "marts.audience",
    None,
    "main.users_2fa",
    "phone_number",
    SECURITY,
    PHONE,
    (
        Hop("main.users_2fa", "phone_number"),
        Hop("staging.keys", "phone_sha256", "DIRECT/TRANSFORMATION"),
        Hop("marts.audience", None, "INDIRECT/JOIN"),
    ),
)


def snapshot(verdicts=None) -> GraphSnapshot:
    if verdicts is None:
        verdicts = (
            Verdict.from_violations(
                [VIOLATION],
                run_id="ads/r2/guard",
                dag_id="ads",
                task_id="guard",
                sink="marts.audience",
                checked_at=T0,
            ),
        )
    return GraphSnapshot(
        datasets=(DatasetInfo("main.users_2fa", ("user_id", "phone_number", "created_at")),),
        edges=EDGES,
        tags=TAGS,
        runs=(
            RunRecord(
                "ads/r2/match",
                "default",
                "ads.match",
                "ads",
                "match",
                "COMPLETE",
                T0,
                T0,
                ("staging.keys",),
                ("marts.audience",),
            ),
        ),
        verdicts=tuple(verdicts),
    )


def build_graph(snap, filters=None) -> GraphResponse:
    return GraphResponse.model_validate(build_raw(snap, filters))


def names(graph):
    by_id = {}
    for ds in graph.datasets:
        by_id[ds.rows_id] = f"{ds.table}.<rows>"
        for col in ds.columns:
            by_id[col.id] = f"{ds.table}.{col.name}"
    return by_id


def edge_set(graph, *, violating=None):
    by_id = names(graph)
    return {
        (by_id[e.source], by_id[e.target], e.subtype)
        for e in graph.edges
        if violating is None or e.violating == violating
    }


def test_whole_graph_keeps_dataset_column_order_and_every_edge():
    graph = build_graph(snapshot())
    tables = [d.table for d in graph.datasets]
    assert tables == ["main.users", "main.users_2fa", "marts.audience", "marts.campaign", "staging.keys"]
    users_2fa = graph.datasets[1]
    assert [col.name for col in users_2fa.columns] == ["user_id", "phone_number", "created_at"]
    assert len(graph.edges) == len(EDGES)
    assert graph.stats.model_dump() == {"datasets": 5, "columns": 9, "edges": 6, "violating_edges": 2}
    ids = [n.id for d in graph.datasets for n in d.columns] + [d.rows_id for d in graph.datasets]
    assert len(ids) == len(set(ids))


def test_failed_verdict_path_is_red_and_the_clean_path_is_not():
    graph = build_graph(snapshot())
    assert edge_set(graph, violating=True) == {
        ("main.users_2fa.phone_number", "staging.keys.phone_sha256", "TRANSFORMATION"),
        ("staging.keys.phone_sha256", "marts.audience.<rows>", "JOIN"),
    }
    red = {d.table for d in graph.datasets if d.violating}
    assert red == {"main.users_2fa", "staging.keys", "marts.audience"}
    phone = next(col for d in graph.datasets for col in d.columns if col.name == "phone_number")
    assert phone.violating and phone.tags[0].purpose == SECURITY
    assert [d.table for d in graph.datasets if d.sink] == ["marts.audience"]
    verdict = graph.verdicts[0]
    assert verdict.current and not verdict.passed and verdict.airflow_run_id == "r2"
    assert [h.edge for h in verdict.violations[0].path] == [None, "DIRECT/TRANSFORMATION", "INDIRECT/JOIN"]


def test_a_newer_passing_verdict_clears_the_red_path():
    failed = Verdict.from_violations(
        [VIOLATION],
        run_id="ads/r1/guard",
        dag_id="ads",
        task_id="guard",
        sink="marts.audience",
        checked_at=T0,
    )
    fixed = Verdict(
        "ads/r2/guard", "ads", "guard", "marts.audience", True, checked_at=T0 + timedelta(hours=1)
    )
    graph = build_graph(snapshot([failed, fixed]))
    assert graph.stats.violating_edges == 0
    assert [(v.passed, v.current) for v in graph.verdicts] == [(True, True), (False, False)]


def test_path_step_missing_from_the_store_is_drawn_as_inferred():
    hop = dataclasses.replace(
        VIOLATION,
        path=(Hop("main.users_2fa", "phone_number"), Hop("marts.audience", "user_id", "INDIRECT/JOIN")),
    )
    verdict = Verdict.from_violations([hop], run_id="x", dag_id="ads", task_id="guard", sink="marts.audience")
    graph = build_graph(snapshot([verdict]))
    inferred = [e for e in graph.edges if e.inferred]
    assert len(inferred) == 1 and inferred[0].violating and inferred[0].subtype == "JOIN"


@pytest.mark.parametrize(
    ("filters", "tables"),
    [
        (Filters(purpose="essential"), {"main.users_2fa", "staging.keys", "marts.audience"}),
        (Filters(purpose="marketing"), {"main.users", "marts.campaign"}),
        (Filters(category="user.contact.phone_number"), {"main.users_2fa", "staging.keys", "marts.audience"}),
        (Filters(sink="marts.campaign"), {"main.users", "marts.campaign"}),
        (Filters(focus="staging.keys", depth=1, direction="upstream"), {"staging.keys", "main.users_2fa"}),
        (Filters(focus="staging.keys", depth=1, direction="downstream"), {"staging.keys", "marts.audience"}),
        (
            Filters(focus="main.users_2fa.phone_number", direction="downstream"),
            {"main.users_2fa", "staging.keys", "marts.audience"},
        ),
        (Filters(q="CAMP"), {"marts.campaign"}),
        (Filters(q="phone"), {"main.users_2fa", "staging.keys"}),
        (Filters(purpose="essential", sink="marts.campaign"), set()),
        (Filters(focus="no.such_table"), set()),
    ],
)
def test_filters_keep_the_expected_tables(filters, tables):
    graph = build_graph(snapshot(), filters)
    assert {d.table for d in graph.datasets} == tables
    kept = {n.id for d in graph.datasets for n in d.columns} | {d.rows_id for d in graph.datasets}
    assert all(e.source in kept and e.target in kept for e in graph.edges)


def test_purpose_filter_keeps_only_the_reached_columns():
    graph = build_graph(snapshot(), Filters(purpose=SECURITY))
    cols = {(d.table, col.name) for d in graph.datasets for col in d.columns}
    # the join key decides the audience's rows, so every audience column is downstream
    assert cols == {
        ("main.users_2fa", "phone_number"),
        ("staging.keys", "phone_sha256"),
        ("marts.audience", "user_id"),
    }


def test_focus_depth_counts_hops_but_not_row_set_steps():
    # keys.phone_sha256 -> audience.<rows> is one hop; <rows> -> audience.user_id is free
    graph = build_graph(
        snapshot(), Filters(focus="staging.keys.phone_sha256", depth=1, direction="downstream")
    )
    cols = {(d.table, col.name) for d in graph.datasets for col in d.columns}
    assert cols == {("staging.keys", "phone_sha256"), ("marts.audience", "user_id")}


def test_facets_cover_the_whole_snapshot_whatever_the_filter():
    graph = build_graph(snapshot(), Filters(purpose="marketing"))
    assert graph.facets.purposes == ["essential.service.security", "marketing.advertising.first_party"]
    assert graph.facets.categories == ["user.contact.email", "user.contact.phone_number"]
    assert graph.facets.sinks == ["marts.audience", "marts.campaign"]
    assert graph.facets.dags == ["ads"]
    assert [r.airflow_run_id for r in graph.facets.runs] == ["r2"]


def test_markup_in_names_is_data_not_markup():
    xss = "<img src=x onerror=alert(1)>"
    snap = GraphSnapshot(datasets=(DatasetInfo(xss, ("<b>c</b>",)),))
    graph = build_graph(snap)
    assert graph.datasets[0].table == xss
    assert graph.datasets[0].columns[0].name == "<b>c</b>"
    # ids never carry names, so no selector or attribute ever sees them
    assert "<" not in graph.datasets[0].id + graph.datasets[0].columns[0].id


def test_response_has_no_field_for_values():
    fields = set()
    stack = [build_raw(snapshot())]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            fields |= set(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    assert not fields & {"value", "values", "sample", "samples", "rows", "data"}


def test_merge_snapshots_unions_parts_and_merges_columns():
    from purpose_lineage.api.ui_view import merge_snapshots

    a = GraphSnapshot(datasets=(DatasetInfo("t", ("a", "b")),), edges=EDGES[:2], tags=TAGS[:1])
    b = GraphSnapshot(datasets=(DatasetInfo("t", ("b", "c")),), edges=EDGES[1:3], tags=TAGS[:2])
    merged = merge_snapshots([a, b], verdicts=[])
    assert merged.datasets == (DatasetInfo("t", ("a", "b", "c")),)
    assert merged.edges == EDGES[:3]
    assert merged.tags == TAGS[:2]
    assert merged.verdicts == ()
