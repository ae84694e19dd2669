"""FastAPI app mounted by the plugin in the Airflow API server."""

from __future__ import annotations

from fastapi import FastAPI

from purpose_lineage.api.ui import ui_router


def create_app() -> FastAPI:
    app = FastAPI(title="Purpose Lineage", description="Purpose-aware column lineage for Airflow.")
    app.include_router(ui_router)
    return app
