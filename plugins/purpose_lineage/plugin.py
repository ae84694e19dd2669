"""The Airflow plugin (entry point ``airflow.plugins``).

Importing this module must stay cheap: it is loaded in every task process. The
FastAPI app is built on first access by the API server only.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/purpose-lineage"


class _LazyFastapiApps:
    """Builds the FastAPI app on first access. Airflow reads plugin attributes on the class."""

    _apps: list[dict[str, Any]] | None = None

    def __get__(self, obj: object, owner: type) -> list[dict[str, Any]]:
        if self._apps is None:
            from purpose_lineage.api.app import create_app

            type(self)._apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Purpose Lineage"}]
        return self._apps  # type: ignore[return-value]


class PurposeLineagePlugin(AirflowPlugin):
    name = "purpose_lineage"
    fastapi_apps = _LazyFastapiApps()  # type: ignore[assignment]

    external_views = [
        {
            "name": "Purpose Lineage",
            "href": "purpose-lineage/ui/",
            "destination": "nav",
            "category": "browse",
            "url_route": "purpose-lineage",
        },
        {
            "name": "Purpose Lineage",
            "href": "purpose-lineage/ui/?dag_id={DAG_ID}&run_id={RUN_ID}",
            "destination": "dag_run",
            "url_route": "purpose-lineage-run",
        },
    ]
