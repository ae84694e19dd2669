"""The corpus itself: big enough, every hard-negative family present, reproducible."""

from __future__ import annotations

import json
from collections import Counter

import detect_corpus
import generate_corpus

from purpose_lineage.detect.phones import DEFAULT_REGIONS

HARD_NEGATIVE_KINDS = [
    "neg-free-text-email", "neg-order-sequential", "neg-order-random-digits", "neg-order-formatted",
    "neg-postal-us5", "neg-postal-zip4", "neg-date-iso", "neg-date-compact", "neg-epoch", "neg-card",
    "neg-ipv4", "neg-ipv6", "neg-uuid-v4", "neg-uuid-v4-hex", "neg-hash-git-sha1", "neg-hash-content-sha256",
    "neg-hash-content-md5", "neg-order-grouped-digits", "neg-free-text-phone", "neg-imei", "neg-datetime",
]  # fmt: skip


def test_size_labels_and_hard_negatives(corpus_columns):
    assert len(corpus_columns) >= 400
    labels = Counter(c["label"] for c in corpus_columns)
    assert set(labels) == {"phone", "email", "hashed_identifier", "none"}
    assert labels["phone"] >= 150 and labels["email"] >= 60 and labels["none"] >= 120
    kinds = Counter(c["kind"] for c in corpus_columns)
    for kind in HARD_NEGATIVE_KINDS:
        assert kinds[kind] >= 1, kind
    assert len({c["id"] for c in corpus_columns}) == len(corpus_columns)


def test_many_locales(corpus_columns):
    import phonenumbers

    regions = Counter()
    for c in corpus_columns:
        if c["kind"] in ("phone-intl", "phone-global"):
            for v in c["values"]:
                if isinstance(v, str) and len(v) > 6 and (v.startswith("+") or v.startswith("tel:")):
                    num = phonenumbers.parse(v.removeprefix("tel:"), None)
                    regions[phonenumbers.region_code_for_number(num)] += 1
    assert len(regions) >= 100


def test_generator_regions_follow_the_detector_defaults():
    assert tuple(generate_corpus.NATIONAL_REGIONS) == DEFAULT_REGIONS


def test_generator_is_deterministic_and_matches_the_committed_file(corpus_columns):
    columns, known = generate_corpus.build()
    assert generate_corpus.dumps(columns) == detect_corpus.CORPUS.read_text(encoding="utf-8"), (
        "corpus.jsonl is stale: run .venv/bin/python tests/fixtures/detect/generate_corpus.py"
    )
    assert known == json.loads(detect_corpus.KNOWN.read_text(encoding="utf-8"))
