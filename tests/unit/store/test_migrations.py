"""Versioned schema: an upgrade from v1 keeps every row and fills what v2 adds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag
from purpose_lineage.errors import StoreError
from purpose_lineage.store import migrations, open_store
from purpose_lineage.store.apply import apply_batch
from purpose_lineage.store.base import RunInfo, Verdict
from purpose_lineage.store.batch import Batch

PHONE = Tag(ColumnRef("auth.users_2fa", "phone"), "user.contact.phone_number", "essential.service.security")
EDGES = [
    Edge(ColumnRef("auth.users_2fa", "phone"), ColumnRef("ads.matched", None), Subtype.JOIN),
    Edge(ColumnRef("ads.matched", "user_id"), ColumnRef("ads.audience", "user_id"), Subtype.IDENTITY),
]


class V1Conn:
    """A connection as v1 code used it: it never wrote the tables added later."""

    def __init__(self, conn):
        self.conn, self.dialect = conn, conn.dialect

    def q(self, sql, params=()):
        return self.conn.q(sql, params)

    def x(self, sql, params=()):
        if "pl_dataset_edges" not in sql and "pl_store_changes" not in sql:
            self.conn.x(sql, params)


def test_migration_steps_are_ordered_and_unique():
    versions = [m.version for m in migrations.MIGRATIONS]
    assert versions == sorted(set(versions)) == list(range(1, migrations.LATEST + 1))


def test_upgrade_from_v1_keeps_the_data(store_url, spool_dir, raw):
    old = open_store(store_url, spool_dir=spool_dir)
    assert old.migrate(target=1) == 1
    # a v1 store holds data written by v1 code, which had no table-level edges
    old._schema_checked = True  # v1 code: no upgrade on open
    run = RunInfo("r1", "COMPLETE", datetime(2026, 1, 1, tzinfo=UTC))
    verdict = Verdict("r1", "d", "guard", "ads.audience", False, [{"rule": "x"}], 2)
    batch = Batch.build(run, edges=EDGES, tags=[PHONE], verdicts=[verdict])
    old._run(lambda c: apply_batch(V1Conn(c), batch), wait=5)
    assert raw("SELECT max(version) FROM pl_schema_version") == [(1,)]
    assert raw("SELECT count(*) FROM pl_edges") == [(2,)]
    old.close()

    new = open_store(store_url, spool_dir=spool_dir)
    assert new.schema_version() == migrations.LATEST >= 2
    assert raw("SELECT count(*) FROM pl_dataset_edges") == [(2,)]  # backfilled from v1 edges
    assert new.edges() == sorted(EDGES)
    assert new.tags_for(["auth.users_2fa"])[0].purpose == "essential.service.security"
    assert new.paths_into("ads.audience", purposes=["essential.service.security"]) == [EDGES]
    assert [v.passed for v in new.verdicts_for("ads.audience")] == [False]
    versions = raw("SELECT version FROM pl_schema_version ORDER BY version")
    assert versions == [(v,) for v in range(1, migrations.LATEST + 1)]


def test_a_newer_schema_is_refused_for_reads_and_spooled_for_writes(store, raw, store_url, spool_dir):
    store.record_dataset("a.b", ["x"])
    store.close()
    other = open_store(store_url, spool_dir=spool_dir)
    if other.dialect == "duckdb":
        import duckdb

        con = duckdb.connect(str(other.path))
        con.execute("INSERT INTO pl_schema_version VALUES (99, 'from the future', now())")
        con.close()
    else:
        import psycopg2

        conn = psycopg2.connect(other.dsn)
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO pl_schema_version VALUES (99, 'from the future', now())")
        conn.close()
    other.read_wait = 0.5
    with pytest.raises(StoreError, match="newer than this package"):
        other.edges()
    other.record_dataset("c.d", ["y"])  # nothing lost: it waits for an upgraded package
    assert other.pending() == 1


def test_table_edges_are_indexed_for_the_upstream_walk(store, raw):
    assert store.schema_version() == migrations.LATEST
    if store.dialect == "postgresql":  # DuckDB hashes the table edges: no index to look at
        got = dict(
            raw(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'pl_dataset_edges' AND schemaname = current_schema()"
            )
        )
        assert "pl_dataset_edges_target" not in got  # replaced, so writes maintain no extra index
        assert "(target_dataset_id, source_dataset_id)" in got["pl_dataset_edges_target_source"]
