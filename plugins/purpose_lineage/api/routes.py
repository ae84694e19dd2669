"""Read endpoints: closures, the guard's paths into a sink, table history, graph snapshots.

All need authentication (router dependency). A store that cannot be reached answers 503, so
that a caller acting on the answer fails closed.

No ``from __future__ import annotations``: FastAPI reads the annotations at runtime.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from purpose_lineage.api.deps import StoreDep, require_auth
from purpose_lineage.api.schemas import (
    AssertionModel,
    ClosureResponse,
    ColumnRefModel,
    DatasetModel,
    EdgeModel,
    GraphResponse,
    HistoryResponse,
    PathModel,
    PathsResponse,
    RunModel,
    TagModel,
    VerdictModel,
)
from purpose_lineage.core.model import ColumnRef, Edge, TagSource, normalize_table
from purpose_lineage.errors import PathLimitError, StoreError
from purpose_lineage.store.base import DEFAULT_DEPTH, DEFAULT_MAX_PATHS, ref_key

lineage_router = APIRouter(prefix="/api/v1", tags=["lineage"], dependencies=[Depends(require_auth)])

Depth = Annotated[int, Query(ge=0, le=100, description="maximum number of edges (Marquez: 20)")]


def _unavailable(exc: StoreError) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"lineage store: {exc}")


def _closure(store, table: str, column: str | None, depth: int, up: bool) -> ClosureResponse:
    root = ColumnRef(normalize_table(table), column)
    try:
        edges = store.upstream(root, depth) if up else store.downstream(root, depth)
    except StoreError as exc:
        raise _unavailable(exc) from None
    cols = sorted({e.source if up else e.target for e in edges}, key=ref_key)
    return ClosureResponse(
        root=ColumnRefModel.of(root),
        direction="upstream" if up else "downstream",
        depth=depth,
        columns=[ColumnRefModel.of(c) for c in cols],
        edges=[EdgeModel.of(e) for e in edges],
    )


@lineage_router.get("/upstream", response_model=ClosureResponse)
def upstream(
    store: StoreDep, table: str, column: str | None = None, depth: Depth = DEFAULT_DEPTH
) -> ClosureResponse:
    """Everything a column (or every column of a table, when no column is given) comes from."""
    return _closure(store, table, column, depth, up=True)


@lineage_router.get("/downstream", response_model=ClosureResponse)
def downstream(
    store: StoreDep, table: str, column: str | None = None, depth: Depth = DEFAULT_DEPTH
) -> ClosureResponse:
    """Everything a column (or table) flows into."""
    return _closure(store, table, column, depth, up=False)


def _path(edges: list[Edge]) -> PathModel:
    return PathModel(
        source=ColumnRefModel.of(edges[0].source),
        target=ColumnRefModel.of(edges[-1].target),
        edge_kinds=[f"{e.kind.value}/{e.subtype.value}" for e in edges],
        edges=[EdgeModel.of(e) for e in edges],
    )


@lineage_router.get("/paths", response_model=PathsResponse)
def paths(
    store: StoreDep,
    sink: str,
    purpose: Annotated[list[str] | None, Query(description="purpose keys (prefix match)")] = None,
    category: Annotated[list[str] | None, Query(description="data category keys (prefix match)")] = None,
    source: Annotated[list[str] | None, Query(description="source tables instead of tagged columns")] = None,
    tag_source: Annotated[list[TagSource], Query()] = [TagSource.DECLARED, TagSource.DETECTED],  # noqa: B006
    depth: Depth = DEFAULT_DEPTH,
    max_paths: Annotated[int, Query(ge=1, le=100_000)] = DEFAULT_MAX_PATHS,
) -> PathsResponse:
    """Every path from a column carrying one of the purposes (or categories) into the sink's columns."""
    try:
        found = store.paths_into(
            sink,
            purposes=purpose,
            categories=category,
            sources=source,
            tag_sources=tag_source,
            depth=depth,
            max_paths=max_paths,
        )
    except PathLimitError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except StoreError as exc:
        raise _unavailable(exc) from None
    return PathsResponse(sink=normalize_table(sink), depth=depth, paths=[_path(p) for p in found])


@lineage_router.get("/history", response_model=HistoryResponse)
def history(store: StoreDep, table: str) -> HistoryResponse:
    """Runs that read or wrote a table, and guard verdicts about it, newest first."""
    try:
        runs, verdicts = store.runs_for(table), store.verdicts_for(table)
    except StoreError as exc:
        raise _unavailable(exc) from None
    return HistoryResponse(
        table=normalize_table(table),
        runs=[RunModel.of(r) for r in runs],
        verdicts=[VerdictModel.of(v) for v in verdicts],
    )


@lineage_router.get("/graph", response_model=GraphResponse)
def graph(
    store: StoreDep,
    dag_id: str | None = None,
    run_id: str | None = None,
    table: Annotated[list[str] | None, Query()] = None,
) -> GraphResponse:
    """Datasets, edges, tags, runs, verdicts and assertions, optionally for one DAG, run or set of tables."""
    try:
        g = store.graph(dag_id=dag_id, run_id=run_id, tables=table)
    except StoreError as exc:
        raise _unavailable(exc) from None
    return GraphResponse(
        datasets=[DatasetModel.of(d) for d in g.datasets],
        edges=[EdgeModel.of(e) for e in g.edges],
        tags=[TagModel.of(t) for t in g.tags],
        runs=[RunModel.of(r) for r in g.runs],
        verdicts=[VerdictModel.of(v) for v in g.verdicts],
        assertions=[AssertionModel.of(a) for a in g.assertions],
    )
