"""The committed page assets (api/static) are what frontend/src builds to.

Needs Node and the locked build tools (``cd frontend && npm ci``). Skipped without them,
except under ``CI=true``, where ``.ci/run`` installs them and a missing tool fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FRONTEND = ROOT / "frontend"
STATIC = ROOT / "plugins" / "purpose_lineage" / "api" / "static"


def test_static_assets_are_the_build_of_frontend_src(tmp_path):
    node = shutil.which("node")
    if node is None or not (FRONTEND / "node_modules" / "esbuild").is_dir():
        reason = "no Node or no frontend/node_modules (cd frontend && npm ci)"
        if os.environ.get("CI") == "true":  # .ci/run installs them: a skip there would hide a stale bundle
            pytest.fail(reason)
        pytest.skip(reason)
    out = subprocess.run(
        [node, "build.mjs"],
        cwd=FRONTEND,
        env={**os.environ, "OUT_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in STATIC.iterdir())
    for name in built:
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), (
            f"api/static/{name} differs from a build of frontend/src: run `cd frontend && npm run build`"
        )
