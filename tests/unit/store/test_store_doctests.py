"""The examples in the store and API docstrings run (the default test paths cover only core/)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "purpose_lineage.store",
    "purpose_lineage.store.base",
    "purpose_lineage.store.batch",
    "purpose_lineage.store.migrations",
    "purpose_lineage.store.paths",
    "purpose_lineage.store.search",
    "purpose_lineage.store.ol_events",
    "purpose_lineage.store.duckdb_store",
    "purpose_lineage.store.postgres_store",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
    assert result.attempted > 0
