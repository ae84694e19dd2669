"""The page's routes in Airflow's own FastAPI app: 401 without a login, 200 with one.

Airflow's ``create_app()`` mounts the plugin as the API server does; the plugin app's store
is pointed at a DuckDB file filled with the incident through the store API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import ui_incident as inc
from fastapi.testclient import TestClient
from starlette.routing import Mount

from purpose_lineage.api.ui_schemas import GraphResponse, NodeResponse
from purpose_lineage.store import open_store

PASSWORD = "route-tests-pw"
UI = "/purpose-lineage/ui/"


@pytest.fixture(scope="module")
def airflow_app(tmp_path_factory):
    """Airflow's API app (SimpleAuthManager) with the plugin's store holding the incident."""
    tmp = tmp_path_factory.mktemp("ui-routes")
    airflow = str(Path(sys.executable).with_name("airflow"))
    out = subprocess.run(
        [airflow, "db", "migrate"], capture_output=True, text=True, env=os.environ, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    passwords = tmp / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
        mp.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        mp.delenv("PURPOSE_LINEAGE_API_KEY", raising=False)
        mp.delenv("PURPOSE_LINEAGE_DATA_DOCS_URL", raising=False)
        from airflow.api_fastapi.app import create_app

        app = create_app()
        plugin = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "/purpose-lineage")
        store = open_store(f"duckdb:///{tmp / 'lineage.duckdb'}", spool_dir=tmp / "spool")
        inc.fill(store)
        docs = tmp / "data_docs"
        (docs / "validations").mkdir(parents=True)
        (docs / "index.html").write_text("<html><body>GX Data Docs index</body></html>")
        (docs / "validations" / "audience.html").write_text("<html><script>1</script>audience suite</html>")
        (tmp / "secret.txt").write_text("not for the browser")
        had = getattr(plugin.state, "lineage_store", None)
        plugin.state.lineage_store = store
        plugin.state.data_docs_dir = docs
        try:
            yield app
        finally:
            plugin.state.lineage_store = had
            del plugin.state.data_docs_dir
            store.close()


@pytest.fixture(scope="module")
def token(airflow_app) -> str:
    r = TestClient(airflow_app).post("/auth/token", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 201, r.text
    return r.json()["access_token"]


@pytest.fixture
def anonymous(airflow_app) -> TestClient:
    return TestClient(airflow_app, follow_redirects=False)


@pytest.fixture
def authed(airflow_app, token) -> TestClient:
    return TestClient(airflow_app, headers={"Authorization": f"Bearer {token}"}, follow_redirects=False)


API_PATHS = [
    UI + "api/graph",
    UI + "api/graph?purpose=essential",
    UI + "api/node/main.users_2fa",
    UI + "static/lineage.js",
    UI + "static/lineage.css",
    UI + "data-docs/index.html",
]


@pytest.mark.slow
@pytest.mark.parametrize("path", API_PATHS)
def test_api_and_assets_answer_401_without_login(anonymous, path):
    r = anonymous.get(path)
    assert r.status_code == 401
    assert "phone_number" not in r.text


@pytest.mark.slow
def test_invalid_token_is_refused(anonymous):
    r = anonymous.get(UI + "api/graph", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 403


@pytest.mark.slow
def test_page_sends_a_browser_to_airflow_login_and_back(anonymous):
    r = anonymous.get(UI + "?dag_id=x")
    assert r.status_code == 303
    login = urljoin(str(r.url), r.headers["location"])
    assert urlsplit(login).path == "/api/v2/auth/login"
    assert parse_qs(urlsplit(login).query)["next"] == ["http://testserver/purpose-lineage/ui/?dag_id=x"]
    airflow_login = anonymous.get(login)  # Airflow's generic login entry: on to the auth manager's page
    assert airflow_login.status_code == 307
    assert airflow_login.headers["location"].startswith("/auth/login?next=")
    assert anonymous.get("/purpose-lineage/ui?run_id=1").headers["location"] == "ui/?run_id=1"


@pytest.mark.slow
def test_page_and_assets_with_login(authed, token):
    page = authed.get(UI)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert '<script defer src="static/lineage.js"></script>' in page.text
    js = authed.get(UI + "static/lineage.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "cytoscape" in js.text.lower()
    assert authed.get(UI + "static/..%2Fui.py").status_code == 404
    assert authed.get(UI + "static/nothing.js").status_code == 404
    # the Airflow UI's cookie works as well (the iframe'd page and its fetches)
    cookie_client = TestClient(authed.app, cookies={"_token": token}, follow_redirects=False)
    assert cookie_client.get(UI).status_code == 200
    assert cookie_client.get(UI + "api/graph").status_code == 200


@pytest.mark.slow
def test_graph_holds_the_incident_with_its_red_path(authed):
    r = authed.get(UI + "api/graph")
    assert r.status_code == 200
    graph = GraphResponse.model_validate(r.json())
    names = {}
    for ds in graph.datasets:
        names[ds.rows_id] = (ds.table, None)
        names.update({c.id: (ds.table, c.name) for c in ds.columns})
    red = {(names[e.source], names[e.target], e.subtype) for e in graph.edges if e.violating}
    assert red == {
        ((inc.USERS_2FA, "phone_number"), (inc.PHONE_KEYS, "phone_sha256"), "TRANSFORMATION"),
        ((inc.PHONE_KEYS, "phone_sha256"), (inc.AUDIENCE, None), "JOIN"),
    }
    assert {d.table for d in graph.datasets if d.violating} == {inc.USERS_2FA, inc.PHONE_KEYS, inc.AUDIENCE}
    failed = [v for v in graph.verdicts if not v.passed]
    assert [(v.sink, v.current, v.airflow_run_id) for v in failed] == [(inc.AUDIENCE, True, inc.RUN)]
    assert inc.XSS in {d.table for d in graph.datasets}
    assert graph.facets.dags == [inc.DAG, inc.EMAIL_DAG]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "tables"),
    [
        (
            {"purpose": "marketing.advertising.first_party"},
            {inc.USERS, inc.RECIPIENTS, inc.CAMPAIGN, inc.XSS},
        ),
        (
            {"category": "user.contact.phone_number", "sink": inc.AUDIENCE},
            {inc.USERS_2FA, inc.PHONE_KEYS, inc.UPLOADS, inc.AUDIENCE},
        ),
        (
            {"focus": inc.AUDIENCE, "direction": "upstream", "depth": 1},
            {inc.PHONE_KEYS, inc.UPLOADS, inc.AUDIENCE},
        ),
        ({"q": "users"}, {inc.USERS, inc.USERS_2FA}),
        ({"dag_id": inc.EMAIL_DAG}, {inc.USERS, inc.RECIPIENTS, inc.CAMPAIGN, inc.XSS}),
        # the run tab passes Airflow's DAG run id; the store keeps one run per task
        ({"dag_id": inc.DAG, "run_id": inc.RUN}, {inc.USERS_2FA, inc.PHONE_KEYS, inc.UPLOADS, inc.AUDIENCE}),
    ],
)
def test_graph_filters(authed, query, tables):
    r = authed.get(UI + "api/graph", params=query)
    assert r.status_code == 200, r.text
    assert {d["table"] for d in r.json()["datasets"]} == tables


@pytest.mark.slow
def test_run_view_keeps_that_runs_verdicts_only(authed):
    graph = authed.get(UI + "api/graph", params={"dag_id": inc.DAG, "run_id": inc.OTHER_RUN}).json()
    assert [(v["passed"], v["airflow_run_id"]) for v in graph["verdicts"]] == [(True, inc.OTHER_RUN)]
    graph = authed.get(UI + "api/graph", params={"dag_id": inc.DAG, "run_id": inc.RUN}).json()
    assert [(v["passed"], v["current"]) for v in graph["verdicts"]] == [(False, True)]
    assert graph["stats"]["violating_edges"] == 2


@pytest.mark.slow
def test_bad_parameters_are_422(authed):
    assert authed.get(UI + "api/graph", params={"depth": -1}).status_code == 422
    assert authed.get(UI + "api/graph", params={"direction": "sideways"}).status_code == 422


@pytest.mark.slow
def test_node_details_give_tag_provenance_runs_and_verdicts(authed):
    r = authed.get(UI + "api/node/" + inc.PHONE_KEYS)
    assert r.status_code == 200, r.text
    node = NodeResponse.model_validate(r.json())
    tags = {(c.name, t.purpose, t.source, t.origin) for c in node.columns for t in c.tags}
    assert tags == {("phone_sha256", inc.SECURITY, "propagated", f"{inc.USERS_2FA}.phone_number")}
    runs = {(r.task_id, r.wrote, r.read, r.airflow_run_id) for r in node.runs}
    assert runs == {("hash_phones", True, False, inc.RUN), ("match_audience", False, True, inc.RUN)}
    assert node.upstream == [inc.USERS_2FA] and node.downstream == [inc.AUDIENCE]

    audience = NodeResponse.model_validate(authed.get(UI + "api/node/" + inc.AUDIENCE).json())
    assert [(v.passed, v.affected_count) for v in audience.verdicts] == [(False, 1250), (True, None)]
    assert [(a.assertion, a.success) for a in audience.assertions] == [("no_security_fingerprints", False)]

    column = authed.get(UI + "api/node/" + inc.USERS_2FA, params={"column": "phone_number"}).json()
    assert [c["name"] for c in column["columns"]] == ["phone_number"]
    assert column["columns"][0]["tags"][0]["source"] == "declared"


@pytest.mark.slow
def test_markup_names_round_trip_as_data(authed):
    r = authed.get(UI + "api/node/" + inc.XSS.replace("/", "%2F"))
    assert r.status_code == 200, r.text
    assert r.json()["table"] == inc.XSS
    assert r.headers["content-type"] == "application/json"
    assert [c["name"] for c in r.json()["columns"]] == [inc.XSS_COLUMN]


@pytest.mark.slow
def test_unknown_node_is_404(authed):
    assert authed.get(UI + "api/node/no.such_table").status_code == 404


@pytest.mark.slow
def test_no_data_values_in_any_response(authed):
    # the incident has no values anywhere; metadata field names only
    for path in (UI + "api/graph", UI + "api/node/" + inc.USERS_2FA):
        body = authed.get(path).json()
        keys = set()
        stack = [body]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                keys |= set(item)
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        assert not keys & {"value", "values", "sample", "samples", "data", "rows"}


@pytest.mark.slow
def test_data_docs_are_served_sandboxed_and_linked(authed):
    index = authed.get(UI + "data-docs/")
    assert index.status_code == 200 and "GX Data Docs index" in index.text
    assert index.headers["content-security-policy"].startswith("sandbox allow-scripts")
    page = authed.get(UI + "data-docs/validations/audience.html")
    assert page.status_code == 200 and "audience suite" in page.text
    for bad in ("data-docs/../secret.txt", "data-docs/..%2Fsecret.txt", "data-docs/missing.html"):
        r = authed.get(UI + bad)
        assert r.status_code == 404, bad
        assert "not for the browser" not in r.text
    assert authed.get(UI + "api/graph").json()["data_docs_url"] == "data-docs/index.html"
    assert authed.get(UI + "api/node/" + inc.AUDIENCE).json()["data_docs_url"] == "data-docs/index.html"
