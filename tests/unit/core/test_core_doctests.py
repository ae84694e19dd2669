"""The docstring examples of the pure core (and the other small public modules) run as tests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import purpose_lineage.core as core
import purpose_lineage.ol as ol

MODULES = (
    [f"{core.__name__}.{m.name}" for m in pkgutil.iter_modules(core.__path__)]
    + [f"{ol.__name__}.{m.name}" for m in pkgutil.iter_modules(ol.__path__)]
    + ["purpose_lineage.cli", "purpose_lineage.gx.expectations"]
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
