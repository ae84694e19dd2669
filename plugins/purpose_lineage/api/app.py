"""FastAPI app mounted by the plugin in the Airflow API server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

if TYPE_CHECKING:
    from purpose_lineage.store.base import LineageStore


def create_app(*, store: LineageStore | None = None, api_key: str | None = None) -> FastAPI:
    """Build the app. ``store``/``api_key`` override the Airflow config (tests, embedding).

    Routes: ``POST /api/v1/lineage`` (OpenLineage ingestion) and the read endpoints under
    ``/api/v1`` (upstream, downstream, paths, history, graph). All require authentication.
    """
    from purpose_lineage.api.ingest import ingest_router
    from purpose_lineage.api.routes import lineage_router
    from purpose_lineage.api.ui import ui_router

    app = FastAPI(title="Purpose Lineage", description="Purpose-aware column lineage for Airflow.")
    if store is not None:
        app.state.lineage_store = store
    if api_key is not None:
        app.state.api_key = api_key
    app.include_router(ingest_router)
    app.include_router(lineage_router)
    app.include_router(ui_router)
    return app
