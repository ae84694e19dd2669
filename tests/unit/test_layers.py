"""Layers import only downward (see docs/architecture.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "plugins" / "purpose_lineage"
STDLIB = set(sys.stdlib_module_names)
# third-party roots each layer may use (besides stdlib and lower layers of this package)
CORE_LIBS = {"sqlglot"}
# E.164 normalisation has no pure alternative; a policy file is YAML
CORE_EXCEPTIONS = {"core/fingerprint.py": {"phonenumbers"}, "core/policy_yaml.py": {"yaml"}}
ADAPTER_FORBIDDEN = {"airflow"}
LOWER = {
    "errors": set(),
    "durable": set(),
    "core": {"errors", "core"},
    "store": {"errors", "core", "store", "durable"},
    "ol": {"errors", "core", "ol", "durable"},
    "native": {"errors", "native"},
    "gx": {"errors", "core", "gx", "native"},
    "detect": {"errors", "core", "detect", "ol"},
    "api": {"errors", "core", "store", "ol", "api"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "purpose_lineage":  # from purpose_lineage import config
                names.update(f"purpose_lineage.{a.name}" for a in node.names)
            else:
                names.add(node.module)
    return names


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


MODULES = sorted(p for p in PKG.rglob("*.py") if _layer(p) in LOWER)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_imports_only_downward(path: Path):
    layer = _layer(path)
    rel = str(path.relative_to(PKG))
    bad = []
    for name in _imports(path):
        root = name.split(".")[0]
        if root == "purpose_lineage":
            target = name.split(".")[1] if "." in name else ""
            if rel == "api/deps.py" and target == "config":  # the api's one door to Airflow
                continue
            if target not in LOWER[layer]:
                bad.append(name)
        elif root in STDLIB or root == "__future__":
            continue
        elif layer in ("errors", "core"):
            if root not in CORE_LIBS | CORE_EXCEPTIONS.get(rel, set()):
                bad.append(name)
        elif root in ADAPTER_FORBIDDEN and not (layer == "api" and rel == "api/deps.py"):
            bad.append(name)
    assert not bad, f"{rel} ({layer}) imports {sorted(bad)}"


def test_test_modules_have_unique_basenames():
    # rootdir-relative imports: two test_x.py in different folders collide on a fresh clone
    from collections import Counter

    tests = Path(__file__).resolve().parents[1]
    names = Counter(p.name for p in tests.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
