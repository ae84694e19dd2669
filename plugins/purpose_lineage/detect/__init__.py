"""Detect untagged contact identifiers (phone numbers, e-mail addresses, hashed identifiers).

Pipeline: :func:`scan` samples each table inside the warehouse, prefilters with regular
expressions there, validates a bounded sample in Python (:func:`classify_column`), and
:func:`findings_to_tags` turns confident findings into ``Tag(..., purpose=UNKNOWN_PURPOSE,
source=DETECTED)``. See docs/reference/detection.md.

Names are imported lazily (PEP 562): importing the package loads neither phonenumbers
nor a database driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "scan": "purpose_lineage.detect.scan",
    "ScanReport": "purpose_lineage.detect.scan",
    "classify_column": "purpose_lineage.detect.classify",
    "findings_to_tags": "purpose_lineage.detect.tags",
    "UNKNOWN_PURPOSE": "purpose_lineage.detect.tags",
    "ColumnSample": "purpose_lineage.detect.model",
    "ConfirmHashes": "purpose_lineage.detect.model",
    "DetectedClass": "purpose_lineage.detect.model",
    "Finding": "purpose_lineage.detect.model",
    "open_warehouse": "purpose_lineage.detect.warehouse",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from purpose_lineage.detect.classify import classify_column as classify_column
    from purpose_lineage.detect.model import ColumnSample as ColumnSample
    from purpose_lineage.detect.model import ConfirmHashes as ConfirmHashes
    from purpose_lineage.detect.model import DetectedClass as DetectedClass
    from purpose_lineage.detect.model import Finding as Finding
    from purpose_lineage.detect.scan import ScanReport as ScanReport
    from purpose_lineage.detect.scan import scan as scan
    from purpose_lineage.detect.tags import UNKNOWN_PURPOSE as UNKNOWN_PURPOSE
    from purpose_lineage.detect.tags import findings_to_tags as findings_to_tags
    from purpose_lineage.detect.warehouse import open_warehouse as open_warehouse


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
