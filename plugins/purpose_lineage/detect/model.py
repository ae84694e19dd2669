"""What detection works on and what it returns.

A :class:`ColumnSample` is what the warehouse hands back for one column: counts over a
bounded row sample, and a bounded list of prefilter-matched values per class. A
:class:`Finding` is the verdict for one column. Findings never hold raw values: only
counts and masked examples, so they can be logged, printed and stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

PHONE_CATEGORY = "user.contact.phone_number"
EMAIL_CATEGORY = "user.contact.email"
PSEUDONYMOUS_CATEGORY = "user.unique_id.pseudonymous"

#: Confirms that hex values are fingerprints of known identifiers (the fingerprints
#: module provides it). Gets a bounded sample of hex strings; True means confirmed.
ConfirmHashes = Callable[[Sequence[str]], bool]


class DetectedClass(StrEnum):
    """What a column carries."""

    PHONE = "phone"
    EMAIL = "email"
    HASHED_IDENTIFIER = "hashed_identifier"
    NONE = "none"


@dataclass
class ColumnSample:
    """Prefilter counts and bounded candidate lists for one column.

    ``nonnull`` counts the non-null values of the row sample; ``phone``/``email``/``hex``
    count how many of them matched each prefilter in the warehouse, and the ``*_values``
    lists hold at most ``validate_limit`` of those matches for validation in Python.
    """

    table: str
    column: str
    data_type: str = ""
    rows: int = 0
    nonnull: int = 0
    phone: int = 0
    email: int = 0
    hex: int = 0
    phone_values: list[str] = field(default_factory=list)
    email_values: list[str] = field(default_factory=list)
    hex_values: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # never show the values
        return (
            f"ColumnSample({self.table}.{self.column}, nonnull={self.nonnull}, phone={self.phone}, "
            f"email={self.email}, hex={self.hex})"
        )


@dataclass(frozen=True)
class Finding:
    """The verdict for one column. Holds counts and masked examples, never raw values.

    ``fraction`` is the estimated share of non-null sampled values that are valid
    identifiers of ``detected``: prefilter share times the validated share.
    """

    table: str
    column: str
    detected: DetectedClass
    confidence: float
    category: str | None = None
    sampled: int = 0
    candidates: int = 0
    validated: int = 0
    valid: int = 0
    fraction: float = 0.0
    region: str | None = None
    reason: str = ""
    examples: tuple[str, ...] = ()
    data_type: str = ""

    @property
    def is_identifier(self) -> bool:
        return self.detected is not DetectedClass.NONE

    def to_dict(self) -> dict:
        return {
            "table": self.table,
            "column": self.column,
            "class": self.detected.value,
            "confidence": round(self.confidence, 3),
            "category": self.category,
            "sampled": self.sampled,
            "candidates": self.candidates,
            "validated": self.validated,
            "valid": self.valid,
            "fraction": round(self.fraction, 3),
            "region": self.region,
            "reason": self.reason,
            "examples": list(self.examples),
            "data_type": self.data_type,
        }
