"""The labelled corpus (tests/fixtures/detect) loaded into a real DuckDB, scanned once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "detect"))

import detect_corpus  # noqa: E402


@pytest.fixture(scope="session")
def corpus_columns() -> list[dict]:
    return detect_corpus.load()


@pytest.fixture(scope="session")
def corpus_tables(corpus_columns):
    return detect_corpus.layout(corpus_columns)


@pytest.fixture(scope="session")
def corpus_duckdb(tmp_path_factory, corpus_tables) -> str:
    """A DuckDB file holding the corpus; returns its URL (the scan opens it read-only)."""
    import duckdb

    path = tmp_path_factory.mktemp("detect") / "corpus.duckdb"
    con = duckdb.connect(str(path))
    detect_corpus.load_duckdb(con, corpus_tables)
    con.close()
    return f"duckdb:///{path}"


@pytest.fixture(scope="session")
def corpus_scan(corpus_duckdb):
    from purpose_lineage.detect.scan import scan

    return scan(corpus_duckdb, confirm_hashes=detect_corpus.confirm_hook())
