"""Module rules of the notifications package: doctests pass, message building stays pure."""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[3] / "plugins" / "purpose_lineage" / "notifications"
MODULES = ["scrub", "message", "render", "ledger", "delivery", "channels"]
PURE = ["scrub", "message", "render", "ledger"]  # usable without Airflow (guard, CLI, API)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(f"purpose_lineage.notifications.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_import_no_airflow(name):
    tree = ast.parse((PKG / f"{name}.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0] if node.level == 0 else "")
            if node.module.startswith("purpose_lineage.") and node.level == 0:
                assert node.module.startswith(("purpose_lineage.notifications.", "purpose_lineage.core.")), (
                    node.module
                )
    assert "airflow" not in imported
