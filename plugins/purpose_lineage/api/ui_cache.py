"""Serialised graph responses of the lineage page, kept until the store changes.

Reading and shaping a warehouse's lineage (tens of thousands of edges) takes the API server
about a second; the page asks for the same graph on every load. An entry is keyed on the
store's change marker (:meth:`LineageStore.change_marker`, bumped by every write of any
process), so a write makes every older entry unreachable and nothing is ever served stale.
Entries hold the response body only: metadata (names, tags, edge kinds), never data values.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

MAX_ENTRIES = 8  # a few DAG/run scopes; the page filters in the browser


class GraphCache:
    """A small LRU of response bodies by (marker, request key); thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[int, Hashable], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, marker: int, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._entries.get((marker, key))
            if body is None:
                self.misses += 1
                return None
            self._entries.move_to_end((marker, key))
            self.hits += 1
            return body

    def put(self, marker: int, key: Hashable, body: bytes) -> None:
        with self._lock:
            # entries of an older marker can never be asked for again
            for old in [k for k in self._entries if k[0] != marker]:
                del self._entries[old]
            self._entries[(marker, key)] = body
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
