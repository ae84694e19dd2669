"""Shared by the fuzzers: example budgets, the input counter, token-level mutations."""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

COUNTS: Counter[str] = Counter()

# PURPOSE_LINEAGE_FUZZ_EXAMPLES scales every fuzzer (the CI default keeps the suite quick).
SCALE = int(os.environ.get("PURPOSE_LINEAGE_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(default_examples: int, deadline_s: float = 10.0) -> settings:
    """Hypothesis settings: ``default_examples`` (or the env override), a per-example deadline.

    The deadline is the "no hang" bound: one input taking longer fails the test (hypothesis
    re-runs it once to rule out a hiccup of the shared machine).
    """
    return settings(
        max_examples=SCALE or default_examples,
        deadline=timedelta(seconds=deadline_s),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        derandomize=not SCALE,  # CI: the same inputs every run; soak: fresh ones
        database=None,
    )


def count(name: str) -> None:
    COUNTS[name] += 1


_TOKEN_RE = re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_$]*|\d+(?:\.\d+)?|'[^']*'|\"[^\"]*\"|.", re.S)


def tokens(text: str) -> list[str]:
    """Whitespace-preserving tokens: joining them gives ``text`` back."""
    return _TOKEN_RE.findall(text)


@st.composite
def mutated(draw, base: st.SearchStrategy[str], vocabulary: list[str], max_mutations: int = 4) -> str:
    """``base`` text with a few token deletions, duplications, swaps, insertions or a truncation."""
    toks = tokens(draw(base))
    for _ in range(draw(st.integers(1, max_mutations))):
        if not toks:
            toks = [draw(st.sampled_from(vocabulary))]
            continue
        i = draw(st.integers(0, len(toks) - 1))
        op = draw(st.sampled_from(("delete", "duplicate", "swap", "insert", "replace", "truncate")))
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "insert":
            toks.insert(i, draw(st.sampled_from(vocabulary) | st.text(max_size=4)))
        elif op == "replace":
            toks[i] = draw(st.sampled_from(vocabulary) | st.text(max_size=6))
        else:
            toks = toks[:i]
    return "".join(toks)
