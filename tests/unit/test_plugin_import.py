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
