"""The README's architecture section maps every module of the package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "purpose_lineage"


def architecture_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## Architecture", 1)[1].split("\n## ", 1)[0]


def mentioned(relative: str, section: str) -> bool:
    """A module is mapped by its own path, its folder (``store/``), or a ``core/sql_*.py`` pattern."""
    names = set(re.findall(r"`([^`]+)`", section))
    parts = relative.split("/")
    folders = {"/".join(parts[:i]) + "/" for i in range(1, len(parts))}
    if relative in names or folders & names:
        return True
    return any("*" in n and re.fullmatch(n.replace(".", r"\.").replace("*", ".*"), relative) for n in names)


def test_every_module_is_in_the_architecture_table():
    section = architecture_section()
    modules = sorted(
        p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"
    )
    assert len(modules) > 50
    missing = [m for m in modules if not mentioned(m, section)]
    assert missing == []
