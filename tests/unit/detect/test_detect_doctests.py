"""Run the doctests of the detection modules (pytest's testpaths only collect ``core``)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "purpose_lineage.detect.patterns",
    "purpose_lineage.detect.hints",
    "purpose_lineage.detect.negatives",
    "purpose_lineage.detect.phones",
    "purpose_lineage.detect.emails",
    "purpose_lineage.detect.hashes",
    "purpose_lineage.detect.mask",
    "purpose_lineage.detect.classify",
    "purpose_lineage.detect.warehouse",
    "purpose_lineage.detect.tags",
    "purpose_lineage.ol.detected_tags",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no doctest"
    assert result.failed == 0
