"""Every route of the plugin's app needs authentication, route by route.

The routes are enumerated from ``create_app()`` itself, so a route added later (a UI page,
a static mount with data) is tested without anyone remembering to add it here. The only
routes left open are FastAPI's own API description (``/openapi.json``, ``/docs``,
``/redoc``): they carry the API's shape, no lineage; a test checks they never touch the store.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from ol_samples import API_KEY, as_dict, incident_event
from starlette.routing import Mount, Route

from purpose_lineage.api.app import create_app
from purpose_lineage.store import open_store

NO_DATA = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
QUERY = {"table": "ads.audience", "sink": "ads.audience", "column": "user_id"}
SECRET_TABLE = "auth.users_2fa"  # in the seeded store: must never show in a refused answer


def _routes() -> list[tuple[str, str]]:
    """(method, path) of every route and mount of a freshly built app."""
    found = []
    for r in create_app(api_key=API_KEY).routes:
        if isinstance(r, APIRoute | Route):
            for m in sorted((r.methods or {"GET"}) - {"HEAD"}):
                found.append((m, r.path))
        elif isinstance(r, Mount):
            found.append(("GET", r.path.rstrip("/") + "/index.html"))
        else:  # a websocket or an unknown kind: refuse to guess
            found.append(("UNTESTED", getattr(r, "path", repr(r))))
    return found


ROUTES = [r for r in _routes() if r[1] not in NO_DATA]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _body(method: str) -> dict:
    return {"json": as_dict(incident_event())} if method in ("POST", "PUT", "PATCH") else {}


@pytest.fixture(scope="module")
def api_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("auth")
    s = open_store(f"duckdb:///{d / 'lineage.duckdb'}", spool_dir=d / "spool")
    yield s
    s.close()


@pytest.fixture(scope="module")
def seeded_app(api_store):
    app = create_app(store=api_store, api_key=API_KEY)
    app.state.airflow_auth = False
    ok = TestClient(app, headers={"X-API-Key": API_KEY})
    assert ok.post("/api/v1/lineage", json=as_dict(incident_event())).status_code == 201
    return app


@pytest.fixture
def seeded(seeded_app, api_store):
    edges = len(api_store.edges())
    yield seeded_app
    assert len(api_store.edges()) == edges, "a refused request changed the store"


def test_the_app_has_the_routes_we_expect_at_least():
    paths = {p for _, p in ROUTES}
    assert {"/api/v1/lineage", "/api/v1/upstream", "/api/v1/downstream", "/api/v1/paths"} <= paths
    assert {"/api/v1/history", "/api/v1/graph"} <= paths
    assert not [r for r in ROUTES if r[0] == "UNTESTED"]


PAGES = {"/ui", "/ui/"}

CREDENTIALS = {
    "none": {},
    "wrong bearer": {"headers": {"Authorization": "Bearer not-the-key"}},
    "basic auth": {"headers": {"Authorization": "Basic YWRtaW46YWRtaW4="}},
    "empty api key": {"headers": {"X-API-Key": ""}},
    "forged cookie": {"cookies": {"_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."}},
    "key as query": {"params": {"api_key": API_KEY, "X-API-Key": API_KEY}},
}


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@pytest.mark.parametrize("cred", CREDENTIALS, ids=list(CREDENTIALS))
def test_every_route_refuses_unauthenticated_callers(seeded, method, path, cred):
    opts = dict(CREDENTIALS[cred])
    params = {**QUERY, **opts.pop("params", {})}
    client = TestClient(seeded, cookies=opts.pop("cookies", None), follow_redirects=False)
    r = client.request(method, _url(path), params=params, **opts, **_body(method))
    assert SECRET_TABLE not in r.text
    if path in PAGES:  # a browser page sends the caller to Airflow's login instead of a bare 401
        assert r.status_code in (303, 307), (r.status_code, r.text[:200])
        assert "auth/login" in r.headers["location"] or r.headers["location"].startswith("ui/")
        return
    assert r.status_code == 401, (r.status_code, r.text[:200])
    assert r.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_a_wrong_api_key_is_forbidden(seeded, method, path):
    client = TestClient(seeded, headers={"X-API-Key": API_KEY + "x"})
    r = client.request(method, _url(path), params=QUERY, **_body(method))
    assert r.status_code == 403 and SECRET_TABLE not in r.text


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_answers_the_api_key(seeded, method, path):
    """The positive control: the same request with the key is not refused."""
    client = TestClient(seeded, headers={"X-API-Key": API_KEY})
    r = client.request(method, _url(path), params=QUERY, **_body(method))
    # 404 with a reason is an answer too: the placeholder asset/page/dataset does not exist
    assert r.status_code in (200, 201) or (r.status_code == 404 and "detail" in r.json()), (
        r.status_code,
        r.text[:200],
    )


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_airflow_tokens_that_do_not_verify_are_refused(api_store, method, path):
    """With Airflow auth on (the default in the API server), a forged JWT is refused, not a 500."""
    app = create_app(store=api_store, api_key=API_KEY)
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJBZG1pbiJ9.c2lnbmF0dXJl"
    r = client.request(
        method, _url(path), params=QUERY, headers={"Authorization": f"Bearer {forged}"}, **_body(method)
    )
    expected = (303, 307, 401, 403) if path in PAGES else (401, 403)  # pages may redirect to login
    assert r.status_code in expected, (r.status_code, r.text[:200])
    assert SECRET_TABLE not in r.text


def test_no_configured_key_means_no_key_accepted(api_store):
    """An unset API key must not make an empty or missing key valid."""
    app = create_app(store=api_store, api_key="")
    app.state.airflow_auth = False
    for headers in ({}, {"X-API-Key": ""}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"}):
        r = TestClient(app, headers=headers).get("/api/v1/graph")
        assert r.status_code in (401, 403), headers


@pytest.mark.parametrize("path", sorted(NO_DATA))
def test_the_open_description_routes_never_touch_the_store(path):
    app = create_app(api_key=API_KEY)  # no store: opening one would fail loudly (no Airflow config)
    app.state.airflow_auth = False

    def no_store(*_a, **_k):
        raise AssertionError("an open route opened the lineage store")

    app.state.lineage_store = type("Tripwire", (), {"__getattr__": no_store})()
    r = TestClient(app).get(path)
    assert r.status_code == 200 and SECRET_TABLE not in r.text
