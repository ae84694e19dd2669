"""Detection on a real PostgreSQL (database ``pl_detect``): the same corpus, the same verdicts.

Also checks that the three regex engines (PostgreSQL AREs, DuckDB RE2, Python ``re``)
agree on every prefilter count of the corpus, and that sampling stays bounded on a
table far larger than the sample.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "detect"))

import detect_corpus  # noqa: E402

from purpose_lineage.detect.model import DetectedClass  # noqa: E402
from purpose_lineage.detect.patterns import is_email_candidate, is_hex_candidate, is_phone_candidate  # noqa: E402
from purpose_lineage.detect.scan import scan  # noqa: E402

pytestmark = pytest.mark.postgres

PG_URL = os.environ.get("PURPOSE_LINEAGE_DETECT_PG_URL", "postgresql://postgres@127.0.0.1:5432/pl_detect")
SCHEMA = "detect_corpus"


@pytest.fixture(scope="module")
def pg_conn():
    import psycopg2
    from sqlalchemy.engine import make_url

    u = make_url(PG_URL)
    conn = psycopg2.connect(host=u.host, port=u.port, dbname=u.database, user=u.username, password=u.password)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def tables():
    return detect_corpus.layout(detect_corpus.load())


@pytest.fixture(scope="module")
def pg_corpus(pg_conn, tables):
    detect_corpus.load_postgres(pg_conn, tables, SCHEMA)
    names = [f"{SCHEMA}.{placed[0].table}" for placed in tables]
    yield names
    with pg_conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    pg_conn.commit()


@pytest.fixture(scope="module")
def pg_scan(pg_corpus):
    return scan(PG_URL, tables=pg_corpus, confirm_hashes=detect_corpus.confirm_hook())


def _predicted(report) -> dict:
    return {(f.table, f.column): f.detected.value for f in report.findings}


def test_postgres_quality_gate(pg_scan, tables):
    expected = detect_corpus.truth(tables, schema=SCHEMA)
    predicted = _predicted(pg_scan)
    assert not pg_scan.errors
    assert set(predicted) == set(expected)
    fired = [s["id"] for k, s in expected.items() if s["label"] == "none" and predicted[k] != "none"]
    assert fired == []
    scores = detect_corpus.score(predicted, expected)
    assert scores["phone"]["f1"] >= 0.97 and scores["email"]["f1"] >= 0.97, scores


def test_postgres_and_duckdb_agree_column_by_column(pg_scan, corpus_duckdb_url):
    duck = scan(corpus_duckdb_url, confirm_hashes=detect_corpus.confirm_hook())
    pg = {(t.split(".", 1)[1], c): v for (t, c), v in _predicted(pg_scan).items()}
    dk = {(t.split(".", 1)[1], c): v for (t, c), v in _predicted(duck).items()}
    assert pg == dk


def test_prefilters_agree_across_postgres_duckdb_and_python(pg_scan, corpus_duckdb_url, tables):
    from purpose_lineage.detect.duckdb_sampler import DuckDBWarehouse
    from purpose_lineage.detect.postgres_sampler import _open as open_pg

    specs = {(p.table, p.column): p.spec for placed in tables for p in placed}
    pg, duck = open_pg(PG_URL), DuckDBWarehouse(corpus_duckdb_url.removeprefix("duckdb:///"))
    try:
        pg_tables = {t.name: t for t in pg.tables() if t.schema == SCHEMA}
        duck_tables = {t.name: t for t in duck.tables()}
        for name in sorted(duck_tables):
            pg_s = pg.sample(pg_tables[name], rows=10_000, validate_limit=10_000)
            dk_s = duck.sample(duck_tables[name], rows=10_000, validate_limit=10_000)
            for a, b in zip(pg_s, dk_s, strict=True):
                values = [str(v) for v in specs[(name, a.column)]["values"] if v is not None]
                py = (
                    len(values),
                    sum(map(is_phone_candidate, values)),
                    sum(map(is_email_candidate, values)),
                    sum(map(is_hex_candidate, values)),
                )
                assert (a.nonnull, a.phone, a.email, a.hex) == py, (name, a.column)
                assert (b.nonnull, b.phone, b.email, b.hex) == py, (name, b.column)
                assert sorted(a.phone_values) == sorted(b.phone_values)
    finally:
        pg.close()
        duck.close()


def test_large_table_is_sampled_not_read_whole(pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS public.detect_big")
        cur.execute(
            "CREATE TABLE public.detect_big AS SELECT i AS id, "
            "'+1 415 555 ' || lpad((i % 10000)::text, 4, '0') AS phone FROM generate_series(1, 400000) i"
        )
        cur.execute("ANALYZE public.detect_big")
    pg_conn.commit()
    try:
        report = scan(PG_URL, tables=["public.detect_big"], sample_rows=2_000)
        phone = next(f for f in report.findings if f.column == "phone")
        assert phone.detected is DetectedClass.PHONE
        assert 0 < report.rows <= 2_000
        assert phone.validated <= 100
    finally:
        with pg_conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS public.detect_big")
        pg_conn.commit()


def test_unreachable_postgres_is_a_clear_error():
    from purpose_lineage.errors import DetectionError

    with pytest.raises(DetectionError, match="cannot connect to PostgreSQL"):
        scan("postgresql://postgres@127.0.0.1:1/nowhere")


@pytest.fixture(scope="module")
def corpus_duckdb_url(tmp_path_factory, tables) -> str:
    import duckdb

    path = tmp_path_factory.mktemp("detect-pg") / "corpus.duckdb"
    con = duckdb.connect(str(path))
    detect_corpus.load_duckdb(con, tables)
    con.close()
    return f"duckdb:///{path}"
