"""FastAPI dependencies: the lineage store and Airflow login. The only api module importing Airflow.

Interim version written on branch ``ui`` for the lineage page; the store branch owns this module.
"""

import functools
import os
from pathlib import Path
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import bearer_scheme, get_user, requires_access_view
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from purpose_lineage.store import open_store
from purpose_lineage.store.base import LineageStore


@functools.cache
def _store(url: str) -> LineageStore:
    return open_store(url)


def store_url() -> str:
    """The store URL: ``PURPOSE_LINEAGE_STORE_URL``, ``[purpose_lineage] store_url``, or AIRFLOW_HOME."""
    from airflow.configuration import conf

    url = os.environ.get("PURPOSE_LINEAGE_STORE_URL") or conf.get("purpose_lineage", "store_url", fallback="")
    if url:
        return url
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return f"duckdb:///{home / 'purpose_lineage.duckdb'}"


def get_store() -> LineageStore:
    return _store(store_url())


StoreDep = Annotated[LineageStore, Depends(get_store)]

# 401 without a login, 403 without access to plugin views (Airflow's auth manager decides).
requires_plugin_access = requires_access_view(AccessView.PLUGINS)


async def get_page_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> BaseUser | None:
    """The logged-in user, or None when there is no valid login (the page then redirects to login).

    Raises:
        HTTPException: 403 when the user may not see plugin views.
    """
    try:
        user = await get_user(request, None, bearer)
    except HTTPException as exc:
        if exc.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
            return None  # no, expired or invalid token: log in again
        raise
    if not get_auth_manager().is_authorized_view(access_view=AccessView.PLUGINS, user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return user


PageUserDep = Annotated[BaseUser | None, Depends(get_page_user)]
