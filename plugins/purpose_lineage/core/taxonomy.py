"""fideslang data categories and data uses, with their hierarchy.

The default taxonomy is a JSON snapshot of ``fideslang.default_taxonomy`` so that
tasks don't pay fideslang's pydantic import (~0.35 s); a test keeps the snapshot equal
to the installed fideslang. Policies may add custom keys under existing parents.
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

from purpose_lineage.errors import TaxonomyError

Kind = Literal["data_category", "data_use"]
KINDS: tuple[Kind, ...] = ("data_category", "data_use")


@dataclass(frozen=True)
class Taxonomy:
    """Keys of each kind mapped to their parent key (``None`` at the top)."""

    parents: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def keys(self, kind: Kind) -> set[str]:
        return set(self.parents[kind])

    def has(self, kind: Kind, key: str) -> bool:
        return key in self.parents[kind]

    def covers(self, kind: Kind, ancestor: str, key: str) -> bool:
        """True when ``key`` is ``ancestor`` or lies below it.

        >>> tax = default_taxonomy()
        >>> tax.covers("data_category", "user.contact", "user.contact.phone_number")
        True
        >>> tax.covers("data_use", "marketing.advertising", "essential.service.security")
        False
        """
        node: str | None = key
        while node is not None:
            if node == ancestor:
                return True
            node = self.parents[kind].get(node)
        return False

    def nearest(self, kind: Kind, key: str) -> str | None:
        """The closest valid key, for 'did you mean' messages."""
        matches = difflib.get_close_matches(key, sorted(self.parents[kind]), n=1, cutoff=0.5)
        return matches[0] if matches else None

    def require(self, kind: Kind, key: str) -> str:
        if not self.has(kind, key):
            hint = self.nearest(kind, key)
            label = kind.replace("_", " ")
            raise TaxonomyError(f"unknown {label} {key!r}" + (f"; did you mean {hint!r}?" if hint else ""))
        return key

    def extended(self, kind: Kind, additions: dict[str, str]) -> Taxonomy:
        """A copy with custom ``key -> parent`` entries; each parent must already exist."""
        merged = {k: dict(v) for k, v in self.parents.items()}
        for key, parent in additions.items():
            if parent not in merged[kind] and parent not in additions:
                raise TaxonomyError(f"custom {kind} {key!r} has unknown parent {parent!r}")
            merged[kind][key] = parent
        return Taxonomy(merged)


@functools.cache
def default_taxonomy() -> Taxonomy:
    raw = json.loads(resources.files(__package__).joinpath("fideslang_taxonomy.json").read_text())
    return Taxonomy({kind: {k: v["parent"] for k, v in raw[kind].items()} for kind in KINDS})
