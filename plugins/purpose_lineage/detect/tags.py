"""From findings to purpose tags: auto-tag (``mode="tag"``) or only report (``"report"``).

A detected column gets ``Tag(column, category, purpose=UNKNOWN_PURPOSE,
source=TagSource.DETECTED)``: we know *what* it holds, not what it was collected for.
The policy treats ``"unknown"`` as its sentinel for an unknown purpose (forbidden for
ad sinks by default). Columns that already carry a tag are left alone: detection only
fills gaps, it never overrides a declared purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from purpose_lineage.core.model import ColumnRef, Tag, TagSource, normalize_table
from purpose_lineage.detect.classify import MIN_CONFIDENCE
from purpose_lineage.detect.model import Finding

#: The policy's sentinel for "collected for an unknown purpose".
UNKNOWN_PURPOSE = "unknown"

Mode = Literal["tag", "report"]
MODES: tuple[str, ...] = ("tag", "report")


def findings_to_tags(
    findings: Iterable[Finding],
    mode: Mode = "tag",
    *,
    existing: Iterable[Tag] = (),
    min_confidence: float = MIN_CONFIDENCE,
) -> list[Tag]:
    """Tags for untagged columns that carry identifiers; none in ``report`` mode.

    >>> from purpose_lineage.detect.model import DetectedClass
    >>> f = Finding("Main.Users", "Phone", DetectedClass.PHONE, 0.97, category="user.contact.phone_number")
    >>> [(str(t.column), t.category, t.purpose, t.source.value) for t in findings_to_tags([f])]
    [('main.users.phone', 'user.contact.phone_number', 'unknown', 'detected')]
    >>> findings_to_tags([f], mode="report")
    []
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    tagged = {t.column for t in existing}
    tags: list[Tag] = []
    for f in findings:
        if not f.is_identifier or f.category is None or f.confidence < min_confidence:
            continue
        ref = column_ref(f)
        if ref in tagged:
            continue
        tagged.add(ref)
        if mode == "tag":
            tags.append(Tag(ref, f.category, purpose=UNKNOWN_PURPOSE, source=TagSource.DETECTED))
    return tags


def column_ref(finding: Finding) -> ColumnRef:
    """The finding's column, normalised like every other ColumnRef (lower case, no quotes)."""
    return ColumnRef(normalize_table(finding.table), finding.column.strip('"').lower())
