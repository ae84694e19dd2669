"""The documentation site builds with --strict (broken links and bad config fail)."""

from __future__ import annotations

import subprocess
import sys


def test_mkdocs_builds_strictly(repo_root, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=repo_root,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "site" / "index.html").exists()
