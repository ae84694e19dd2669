"""Dependencies shared by the routes: the lineage store and authentication.

Authentication accepts either a configured API key (``X-API-Key: <key>`` or
``Authorization: Bearer <key>``, which is what the OpenLineage HTTP transport's ``api_key``
auth sends) or an Airflow token (Bearer header or the ``_token`` cookie of the Airflow UI)
whose user may see plugin views. This is the only module of ``api`` that imports Airflow,
and only on the first request that does not carry the API key.

No ``from __future__ import annotations`` here: FastAPI reads these signatures at runtime.
"""

import hmac
import logging
import threading
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from purpose_lineage.store import open_store
from purpose_lineage.store.base import LineageStore

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="An Airflow token or the configured API key")
_store_lock = threading.Lock()


def get_store(request: Request) -> LineageStore:
    """The app's store: ``app.state.lineage_store``, else opened from the Airflow config on first use."""
    state = request.app.state
    store = getattr(state, "lineage_store", None)
    if store is None:
        with _store_lock:
            store = getattr(state, "lineage_store", None)
            if store is None:
                from purpose_lineage import config

                store = open_store(config.store_url(), spool_dir=config.spool_dir())
                state.lineage_store = store
                _start_drainer(store, config.spool_drain_interval())
    return store


StoreDep = Annotated[LineageStore, Depends(get_store)]


def get_data_docs_dir(request: Request) -> Path | None:
    """Where the guard builds Great Expectations Data Docs: ``app.state.data_docs_dir``, else the config."""
    state = request.app.state
    if hasattr(state, "data_docs_dir"):
        return state.data_docs_dir
    try:
        from purpose_lineage import config

        return config.data_docs_dir()
    except Exception:  # no Airflow config available: no Data Docs
        return None


DataDocsDirDep = Annotated[Path | None, Depends(get_data_docs_dir)]


def _start_drainer(store: LineageStore, interval: float) -> None:
    """Replay spooled writes every ``interval`` seconds, so that they arrive when the store returns."""
    if interval <= 0:
        return

    def loop() -> None:
        while True:
            threading.Event().wait(interval)
            try:
                if store.pending():
                    store.drain()
            except Exception:  # a side channel: never let it die
                log.warning("replaying spooled lineage writes failed", exc_info=True)

    threading.Thread(target=loop, name="purpose-lineage-drain", daemon=True).start()


def _configured_key(request: Request) -> str:
    key = getattr(request.app.state, "api_key", None)
    if key is None:
        try:
            from purpose_lineage import config

            key = config.api_key()
        except Exception:  # no Airflow config available: no key
            key = ""
    return key or ""


async def require_auth(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> str:
    """The caller's identity (``api-key`` or ``airflow:<user>``); 401/403 otherwise."""
    key = _configured_key(request)
    bearer = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None
    for presented in (x_api_key, bearer):
        if key and presented and hmac.compare_digest(presented.encode(), key.encode()):
            return "api-key"
    if x_api_key and not bearer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid API key")
    if not getattr(request.app.state, "airflow_auth", True):
        raise _unauthorized()
    try:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
        from airflow.api_fastapi.core_api.security import get_user
    except ImportError:
        raise _unauthorized() from None
    if bearer is None and not request.cookies.get("_token"):
        raise _unauthorized()
    try:
        user = await get_user(request, None, credentials)
        allowed = get_auth_manager().is_authorized_view(access_view=AccessView.PLUGINS, user=user)
    except HTTPException:
        raise
    except Exception as exc:  # no auth manager outside the Airflow API server
        log.warning("Airflow authentication unavailable", exc_info=True)
        raise _unauthorized() from exc
    if not allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return f"airflow:{user.get_name()}"


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "Not authenticated: send an Airflow token or the configured API key",
        headers={"WWW-Authenticate": "Bearer"},
    )


AuthDep = Annotated[str, Depends(require_auth)]
