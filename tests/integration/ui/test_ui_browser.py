"""The lineage page in real headless Chromium against a real ``airflow api-server``.

Each test logs in through Airflow's own login page (a fresh browser context each time),
then reads the drawn graph from the Cytoscape instance the page exposes as
``window.plLineage.cy``. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
import ui_incident as inc
from ui_fixtures import *  # noqa: F403 - the fixtures airflow_server, browser, page
from ui_screens import screenshot

pytestmark = pytest.mark.slow

UI = "purpose-lineage/ui/"
RED = "rgb(220,38,38)"

GRAPH_STATE = """() => {
  const cy = window.plLineage.cy;
  const name = (n) => n.hasClass('dataset')
    ? n.data('table') : `${n.data('table')}.${n.data('column') ?? '<rows>'}`;
  return {
    datasets: cy.nodes('.dataset').map((n) => n.data('table')).sort(),
    columns: cy.nodes('.column').map((n) => name(n)).sort(),
    edges: cy.edges().map((e) => ({
      source: name(e.source()), target: name(e.target()), subtype: e.data('subtype'),
      violating: e.hasClass('violating'), color: e.style('line-color').replace(/ /g, ''),
      width: parseFloat(e.style('width')), dashed: e.style('line-style') === 'dashed',
      masked: e.hasClass('masked'), visible: e.visible(),
    })),
    redNodes: cy.nodes('.violating').map((n) => name(n)).sort(),
  };
}"""


def login(page, server, path: str = UI) -> None:
    """Open ``path`` without a session: Airflow's login page comes first, then the page itself."""
    page.goto(server.url(path))
    page.wait_for_url("**/auth/login**")
    page.fill("input[name=username]", server.user)
    page.fill("input[name=password]", server.password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/purpose-lineage/ui/**")
    wait_ready(page)


def wait_ready(page) -> None:
    page.wait_for_function(
        "() => window.plLineage && window.plLineage.cy && window.plLineage.state.renders > 0"
    )
    assert page.evaluate("window.plLineage.ready") == {"ok": True}


def wait_redraw(page, before: int) -> None:
    page.wait_for_function(f"() => window.plLineage.state.renders > {before}")


def renders(page) -> int:
    return page.evaluate("window.plLineage.state.renders")


def click_node(page, table: str, column: str | None = None) -> None:
    """A real mouse click on a drawn dataset (or column) node."""
    box = page.evaluate(
        """([table, column]) => {
          const cy = window.plLineage.cy;
          const n = cy.nodes().filter((x) => x.data('table') === table &&
            (column === null ? x.hasClass('dataset') : x.data('column') === column))[0];
          const bb = n.renderedBoundingBox();
          const rect = cy.container().getBoundingClientRect();
          // the name part of a row (left), clear of the tag badges; a dataset's header
          const y = column === null && n.hasClass('expanded') ? bb.y1 + 12 : (bb.y1 + bb.y2) / 2;
          return { x: rect.left + bb.x1 + Math.min(40, (bb.x2 - bb.x1) / 2), y: rect.top + y };
        }""",
        [table, column],
    )
    page.mouse.click(box["x"], box["y"])


def test_login_then_the_incident_path_is_drawn_in_red(page, airflow_server):
    login(page, airflow_server)
    state = page.evaluate(GRAPH_STATE)
    assert inc.AUDIENCE in state["datasets"] and inc.USERS in state["datasets"]
    red = {(e["source"], e["target"], e["subtype"]) for e in state["edges"] if e["violating"]}
    assert red == {
        (f"{inc.USERS_2FA}.phone_number", f"{inc.PHONE_KEYS}.phone_sha256", "TRANSFORMATION"),
        (f"{inc.PHONE_KEYS}.phone_sha256", f"{inc.AUDIENCE}.<rows>", "JOIN"),
    }
    for e in state["edges"]:
        if e["violating"]:
            assert e["visible"] and e["width"] >= 3
            # the join keeps its dash, the masked transform its hollow line: in red
            assert e["dashed"] == (e["subtype"] == "JOIN")
            assert e["masked"] == (e["subtype"] == "TRANSFORMATION")
        else:
            assert e["color"] != RED, e
    join = next(e for e in state["edges"] if e["violating"] and e["subtype"] == "JOIN")
    assert join["color"] == RED
    assert f"{inc.USERS_2FA}.phone_number" in state["redNodes"]
    # the clean marketing path is drawn, not red
    clean = [e for e in state["edges"] if e["source"] == f"{inc.USERS}.email"]
    assert clean and not any(e["violating"] for e in clean)
    # the verdicts panel shows the failed guard check of the latest run
    verdicts = page.inner_text("#verdicts")
    assert "failed" in verdicts and inc.AUDIENCE in verdicts and "1250 affected rows" in verdicts
    assert "INDIRECT/JOIN" in verdicts
    shot = screenshot(page, "incident-violating-path")
    assert shot.stat().st_size > 20_000
    assert page.errors == []


def test_filter_by_purpose(page, airflow_server):
    login(page, airflow_server)
    before = renders(page)
    page.select_option("#f-purpose", "marketing.advertising.first_party")
    wait_redraw(page, before)
    state = page.evaluate(GRAPH_STATE)
    assert state["datasets"] == sorted([inc.USERS, inc.RECIPIENTS, inc.CAMPAIGN, inc.XSS])
    assert not any(e["violating"] for e in state["edges"])
    assert "purpose=marketing.advertising.first_party" in page.url
    screenshot(page, "filter-purpose-marketing")

    before = renders(page)
    page.select_option("#f-purpose", "essential.service.security")
    wait_redraw(page, before)
    state = page.evaluate(GRAPH_STATE)
    assert state["datasets"] == sorted([inc.USERS_2FA, inc.PHONE_KEYS, inc.AUDIENCE])
    assert sum(e["violating"] for e in state["edges"]) == 2
    screenshot(page, "filter-purpose-security")

    # the DAG filter reloads the graph from the server: that DAG's lineage only
    before = renders(page)
    page.select_option("#f-purpose", "")
    wait_redraw(page, before)
    before = renders(page)
    page.select_option("#f-dag", inc.EMAIL_DAG)
    wait_redraw(page, before)
    state = page.evaluate(GRAPH_STATE)
    assert state["datasets"] == sorted([inc.USERS, inc.RECIPIENTS, inc.CAMPAIGN, inc.XSS])
    assert f"dag_id={inc.EMAIL_DAG}" in page.url
    assert page.errors == []


def test_node_details_show_tags_with_provenance_runs_and_links(page, airflow_server):
    login(page, airflow_server)
    click_node(page, inc.PHONE_KEYS, "phone_sha256")
    page.wait_for_selector("#details .node-title")
    details = page.inner_text("#details")
    assert f"{inc.PHONE_KEYS}.phone_sha256" in details
    assert "propagated" in details and f"from {inc.USERS_2FA}.phone_number" in details
    assert inc.SECURITY in details and inc.PHONE in details
    assert "hash_phones" in details and "match_audience" in details
    links = page.eval_on_selector_all("#details a.airflow-link", "els => els.map((a) => a.href)")
    run = quote(inc.RUN, safe="")
    assert airflow_server.url(f"dags/{inc.DAG}/runs/{run}/tasks/hash_phones") in links
    assert "Data Docs" in details
    screenshot(page, "node-details-phone-keys")

    click_node(page, inc.AUDIENCE)
    page.wait_for_function(
        "(name) => document.querySelector('#details .node-title')?.textContent === name", arg=inc.AUDIENCE
    )
    details = page.inner_text("#details")
    assert "failed" in details and "no_security_fingerprints" in details
    assert page.errors == []


def test_the_run_tab_url_shows_that_runs_graph(page, airflow_server):
    # the DAG-run tab as Airflow builds its href: purpose-lineage/ui/?dag_id={DAG_ID}&run_id={RUN_ID}
    token = airflow_server.token()
    plugins = requests.get(
        airflow_server.url("api/v2/plugins"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    views = next(p for p in plugins["plugins"] if p["name"] == "purpose_lineage")["external_views"]
    tab = next(v for v in views if v["destination"] == "dag_run")
    href = (
        tab["href"]
        .replace("{DAG_ID}", quote(inc.EMAIL_DAG, safe=""))
        .replace("{RUN_ID}", quote(inc.EMAIL_RUN, safe=""))
    )
    login(page, airflow_server, href)
    state = page.evaluate(GRAPH_STATE)
    assert state["datasets"] == sorted([inc.USERS, inc.RECIPIENTS, inc.CAMPAIGN, inc.XSS])
    assert page.input_value("#f-dag") == inc.EMAIL_DAG
    assert page.input_value("#f-run") == inc.EMAIL_RUN
    verdicts = page.inner_text("#verdicts")
    assert inc.CAMPAIGN in verdicts and inc.AUDIENCE not in verdicts
    screenshot(page, "run-tab-newsletter")

    page.goto(airflow_server.url(f"{UI}?dag_id={quote(inc.DAG, safe='')}&run_id={quote(inc.RUN, safe='')}"))
    wait_ready(page)
    state = page.evaluate(GRAPH_STATE)
    assert state["datasets"] == sorted([inc.USERS_2FA, inc.PHONE_KEYS, inc.UPLOADS, inc.AUDIENCE])
    assert sum(e["violating"] for e in state["edges"]) == 2
    screenshot(page, "run-tab-ad-audience")
    assert page.errors == []


def test_focus_upstream_with_depth_and_search(page, airflow_server):
    login(page, airflow_server, f"{UI}?focus={inc.AUDIENCE}&direction=upstream&depth=1")
    state = page.evaluate(GRAPH_STATE)
    assert state["datasets"] == sorted([inc.PHONE_KEYS, inc.UPLOADS, inc.AUDIENCE])
    assert page.inner_text("#focus-label") == inc.AUDIENCE
    before = renders(page)
    page.fill("#f-depth", "2")
    page.dispatch_event("#f-depth", "change")
    wait_redraw(page, before)
    assert inc.USERS_2FA in page.evaluate(GRAPH_STATE)["datasets"]
    before = renders(page)
    page.click("#focus-clear")
    wait_redraw(page, before)
    before = renders(page)
    page.fill("#f-q", "newsletter")
    wait_redraw(page, before)
    assert page.evaluate(GRAPH_STATE)["datasets"] == [inc.RECIPIENTS]
    screenshot(page, "search-newsletter")
    assert page.errors == []


def test_markup_in_names_renders_inert(page, airflow_server):
    login(page, airflow_server)
    assert inc.XSS in page.evaluate(GRAPH_STATE)["datasets"]
    click_node(page, inc.XSS, inc.XSS_COLUMN)
    page.wait_for_selector("#details .node-title")
    title = page.inner_text("#details .node-title")
    assert title == f"{inc.XSS}.{inc.XSS_COLUMN}"
    before = renders(page)
    page.fill("#f-q", "onerror")
    wait_redraw(page, before)
    assert page.evaluate(GRAPH_STATE)["datasets"] == [inc.XSS]
    page.wait_for_timeout(500)
    # no element was made from a name, nothing ran
    assert page.evaluate("document.querySelectorAll('img, script:not([src])').length") == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.errors == []
    screenshot(page, "markup-names-inert")


def test_inside_airflow_nav_the_page_is_framed_and_logged_in(page, airflow_server):
    login(page, airflow_server)
    page.goto(airflow_server.url("plugin/purpose-lineage"))
    frame = None
    for _ in range(120):
        frame = next(
            (f for f in page.frames if f.url.endswith("/purpose-lineage/ui/") and f != page.main_frame), None
        )
        if frame is not None:
            break
        page.wait_for_timeout(500)
    assert frame is not None, [f.url for f in page.frames]
    frame.wait_for_function("() => window.plLineage && window.plLineage.state.renders > 0")
    assert frame.evaluate("window.plLineage.ready") == {"ok": True}
    assert frame.evaluate("window.plLineage.cy.edges('.violating').length") == 2
    screenshot(page, "airflow-nav-iframe")
    # a run link in the frame opens that run in the Airflow window (its router), not in the frame
    link = frame.locator("#verdicts a.airflow-link", has_text=inc.RUN)
    link.click()
    page.wait_for_url(f"**/dags/{inc.DAG}/runs/**")
    assert quote(inc.RUN, safe="") in page.url
    page.wait_for_timeout(1000)
    screenshot(page, "airflow-run-opened-from-frame")
    assert page.errors == []


def test_api_without_login_is_401_and_the_page_redirects(airflow_server):
    assert requests.get(airflow_server.url(UI + "api/graph"), timeout=30).status_code == 401
    assert requests.get(airflow_server.url(UI + "static/lineage.js"), timeout=30).status_code == 401
    r = requests.get(airflow_server.url(UI), timeout=30, allow_redirects=False)
    assert r.status_code == 303 and "api/v2/auth/login" in r.headers["location"]
