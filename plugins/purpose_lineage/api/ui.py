"""The lineage page: HTML, its bundled assets and its JSON API, under ``/ui``.

Mounted in the plugin's FastAPI app (``/purpose-lineage``), so the page is
``/purpose-lineage/ui/``. Everything needs an Airflow login: the JSON API answers 401
(403 without access to plugin views), the page redirects a browser to Airflow's login.
Responses carry metadata only (names, tags, edge kinds, runs, verdicts), never data values.

No ``from __future__ import annotations`` here: FastAPI reads the annotations at runtime.
"""

import json
import logging
import os
import threading
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from purpose_lineage.api.deps import DataDocsDirDep, StoreDep, require_auth
from purpose_lineage.api.ui_cache import GraphCache
from purpose_lineage.api.ui_schemas import (
    AssertionInfo,
    ColumnDetail,
    GraphResponse,
    NodeResponse,
    NodeRun,
    TagProvenance,
)
from purpose_lineage.api.ui_view import (
    MAX_DEPTH,
    Filters,
    airflow_run_id,
    build_graph,
    merge_snapshots,
    verdict_out,
)
from purpose_lineage.core.model import normalize_table
from purpose_lineage.errors import StoreError
from purpose_lineage.store.base import GraphSnapshot, LineageStore

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
DATA_DOCS_ENV = "PURPOSE_LINEAGE_DATA_DOCS_URL"
# Airflow's generic login entry, relative to <base>/purpose-lineage/ui/: works under a sub-path too.
LOGIN_PATH = "../../api/v2/auth/login"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".map": "application/json",
    ".svg": "image/svg+xml",
}

page_router = APIRouter(prefix="/ui", include_in_schema=False)  # checks the login itself, to redirect
api_router = APIRouter(prefix="/ui", tags=["ui"], dependencies=[Depends(require_auth)])
_bearer = HTTPBearer(auto_error=False)
_cache_lock = threading.Lock()


async def page_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> str | None:
    """The caller (see :func:`require_auth`), or None without a valid login: the page then redirects.

    Raises:
        HTTPException: 403 when the user may not see plugin views.
    """
    try:
        return await require_auth(request, credentials, x_api_key)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            return None
        raise


PageUserDep = Annotated[str | None, Depends(page_user)]


def data_docs_url(docs_dir: DataDocsDirDep) -> str | None:
    """The Data Docs link: ``PURPOSE_LINEAGE_DATA_DOCS_URL``, else our copy once the guard built some."""
    if os.environ.get(DATA_DOCS_ENV):
        return os.environ[DATA_DOCS_ENV]
    if docs_dir is not None and (docs_dir / "index.html").is_file():
        return "data-docs/index.html"  # relative to the page
    return None


DataDocsDep = Annotated[str | None, Depends(data_docs_url)]


@page_router.get("")
def page_without_slash(request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"ui/{query}", status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@page_router.get("/")
def page(request: Request, user: PageUserDep) -> Response:
    """The lineage page; a browser without a login is sent to Airflow's login and back."""
    if user is None:
        login = f"{LOGIN_PATH}?{urlencode({'next': str(request.url)})}"
        return RedirectResponse(login, status_code=status.HTTP_303_SEE_OTHER)
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=_page_headers())


@api_router.get("/static/{name}")
def static_asset(name: str) -> FileResponse:
    """A built asset of the page (``frontend/`` bundled by esbuild)."""
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file() or path.suffix not in _MEDIA_TYPES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such asset")
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@api_router.get("/data-docs/{path:path}")
def data_docs(path: str, docs_dir: DataDocsDirDep) -> FileResponse:
    """The guard's Great Expectations Data Docs (static HTML), sandboxed away from Airflow's origin."""
    if docs_dir is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No Data Docs directory configured")
    root = docs_dir.resolve()
    target = (root / (path or "index.html")).resolve()
    if target.is_dir():
        target = target / "index.html"
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such Data Docs page")
    # an opaque origin: GX's pages and their scripts cannot reach Airflow's cookies or API
    headers = {
        "Content-Security-Policy": "sandbox allow-scripts allow-popups",
        "X-Content-Type-Options": "nosniff",
    }
    return FileResponse(target, headers=headers)


@api_router.get("/api/graph", response_model=GraphResponse)
def graph(
    request: Request,
    store: StoreDep,
    docs: DataDocsDep,
    dag_id: str | None = None,
    run_id: str | None = None,
    purpose: str | None = None,
    category: str | None = None,
    sink: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    focus: str | None = None,
    depth: Annotated[int | None, Query(ge=0, le=MAX_DEPTH)] = None,
    direction: Literal["both", "upstream", "downstream"] = "both",
) -> Response:
    """The lineage graph: datasets with columns and tag badges, edges, verdicts with their paths.

    ``dag_id``/``run_id`` narrow the graph to what that DAG or run recorded; ``purpose`` and
    ``category`` keep the tagged columns and their downstream; ``sink`` keeps a table and its
    upstream; ``focus`` (``table`` or ``table.column``) keeps its upstream/downstream within
    ``depth`` hops; ``q`` keeps tables whose name or a column name contains the text.
    """
    filters = Filters(
        dag_id=dag_id or None,
        run_id=run_id or None,
        purpose=purpose or None,
        category=category or None,
        sink=sink or None,
        q=q or None,
        focus=focus or None,
        depth=depth,
        direction=direction,
    )
    cache = _graph_cache(request)
    key = (store.url, tuple(sorted(filters.as_dict().items())), docs)
    try:
        with store.reading():  # one session for the marker and the read
            marker = store.change_marker()
            body = None if marker is None else cache.get(marker, key)
            snapshot = _snapshot(store, filters.dag_id, filters.run_id) if body is None else None
    except StoreError as exc:
        raise _unavailable(exc) from exc
    if snapshot is not None:
        # serialised here, unvalidated: tens of thousands of edges (the shape is GraphResponse, tested)
        body = json.dumps(build_graph(snapshot, filters, data_docs_url=docs), separators=(",", ":")).encode()
        if marker is not None:
            cache.put(marker, key, body)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@api_router.get("/api/node/{table:path}")
def node(table: str, store: StoreDep, docs: DataDocsDep, column: str | None = None) -> NodeResponse:
    """One table: its columns' tags with provenance, the runs that read or wrote it, verdicts, assertions."""
    name = normalize_table(table)
    try:
        snapshot = store.graph(tables=[name])
        tags = store.tags_for([name])
        runs = store.runs_for(name)
        verdicts = store.verdicts_for(name)
        edges = store.edges_into([name])
        downstream = store.downstream(name, depth=1)
    except StoreError as exc:
        raise _unavailable(exc) from exc
    dataset = next((d for d in snapshot.datasets if d.table == name), None)
    if dataset is None and not tags and not runs:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such dataset in the lineage store")
    names = list(dataset.columns if dataset else ())
    names += sorted({t.column.column for t in tags if t.column.column and t.column.column not in names})
    by_column: dict[str | None, list[TagProvenance]] = {}
    for t in tags:
        by_column.setdefault(t.column.column, []).append(
            TagProvenance(
                category=t.category,
                purpose=t.purpose,
                source=str(t.source),
                origin=str(t.origin) if t.origin else None,
                run_id=t.run_id,
            )
        )
    columns = [
        ColumnDetail(name=c, tags=by_column.get(c, [])) for c in names if column is None or c == column
    ]
    return NodeResponse(
        table=name,
        namespace=dataset.namespace if dataset else "default",
        column=column,
        columns=columns,
        runs=[
            NodeRun(
                run_id=r.run_id,
                dag_id=r.dag_id,
                task_id=r.task_id,
                job_name=r.job_name,
                state=r.state,
                started_at=r.started_at,
                ended_at=r.ended_at,
                airflow_run_id=airflow_run_id(r.run_id, r.dag_id, r.task_id),
                wrote=name in r.outputs,
                read=name in r.inputs,
            )
            for r in runs
        ],
        verdicts=[verdict_out(v) for v in verdicts],
        assertions=[
            AssertionInfo(
                assertion=a.assertion,
                success=a.success,
                column=a.column,
                severity=a.severity,
                run_id=a.run_id,
            )
            for a in snapshot.assertions
            if a.table == name
        ],
        upstream=sorted({e.source.table for e in edges if e.source.table != name}),
        downstream=sorted({e.target.table for e in downstream if e.target.table != name}),
        data_docs_url=docs,
    )


ui_router = APIRouter()
ui_router.include_router(page_router)
ui_router.include_router(api_router)


def _graph_cache(request: Request) -> GraphCache:
    state = request.app.state
    cache = getattr(state, "ui_graph_cache", None)
    if cache is None:
        with _cache_lock:
            cache = getattr(state, "ui_graph_cache", None)
            if cache is None:
                cache = state.ui_graph_cache = GraphCache()
    return cache


def _snapshot(store: LineageStore, dag_id: str | None, run_id: str | None) -> GraphSnapshot:
    """The store's graph for a DAG and/or run; ``run_id`` may be the store's or Airflow's DAG run id.

    The run tab passes Airflow's DAG run id, while operators record one run per task
    (``dag/run/task``): those task runs, and the verdicts of that DAG run, make up its graph.
    """
    snapshot = store.graph(dag_id=dag_id, run_id=run_id)
    if not run_id or not dag_id or snapshot.runs or snapshot.verdicts or snapshot.edges:
        return snapshot
    whole = store.graph(dag_id=dag_id)
    task_runs = [r.run_id for r in whole.runs if airflow_run_id(r.run_id, r.dag_id, r.task_id) == run_id]
    verdicts = [v for v in whole.verdicts if airflow_run_id(v.run_id, v.dag_id, v.task_id) == run_id]
    parts = [store.graph(dag_id=dag_id, run_id=r) for r in task_runs]
    return merge_snapshots(parts, verdicts=verdicts)


def _page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-cache",
    }


def _unavailable(exc: StoreError) -> HTTPException:
    log.warning("Lineage store unavailable: %s", exc)
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The lineage store is unavailable")
