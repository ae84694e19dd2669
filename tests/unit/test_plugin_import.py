"""Loading the plugin in a task process must not pull in the web app or GX."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import sys, json
import purpose_lineage.plugin as p
HEAVY = ("fastapi", "great_expectations", "purpose_lineage.api.app", "fideslang")
heavy = [m for m in HEAVY if m in sys.modules]
print(json.dumps({"heavy": heavy, "views": [v["url_route"] for v in p.PurposeLineagePlugin.external_views]}))
"""


def test_plugin_import_is_light():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["views"] == ["purpose-lineage", "purpose-lineage-run"]


def test_fastapi_app_is_built_on_first_access_only():
    from purpose_lineage.plugin import PurposeLineagePlugin

    apps = PurposeLineagePlugin.fastapi_apps
    assert apps[0]["url_prefix"] == "/purpose-lineage"
    assert PurposeLineagePlugin.fastapi_apps[0]["app"] is apps[0]["app"]


def test_distribution_is_found_once_with_plugins_on_sys_path():
    # a stray egg-info beside the package makes Airflow register the plugin twice
    from importlib.metadata import distributions

    found = [d for d in distributions() if d.metadata["Name"] == "airflow-purpose-lineage"]
    assert len(found) == 1, [str(getattr(d, "_path", d)) for d in found]
