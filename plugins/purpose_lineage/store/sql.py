"""The SQL lineage store: one implementation over a small connection interface.

Backends (:mod:`.duckdb_store`, :mod:`.postgres_store`) only open sessions and classify
their driver's errors. Everything else - spooling, replay, migrations, queries - is here.

Write path::

    record_*() -> Batch (validated) -> [spool file] -> drain: apply each batch in one transaction

DuckDB spools *first* (many processes, one writer at a time: whoever holds the lock applies
everyone's files). PostgreSQL applies directly and spools only when the server is
unreachable. Whoever releases the store lock looks at the spool again, so a batch spooled
while another process held the lock is applied by that process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from purpose_lineage.core.model import ColumnRef, Edge, Tag, TagSource
from purpose_lineage.errors import StoreError
from purpose_lineage.store import migrations, reads, search
from purpose_lineage.store.apply import Conn, among, apply_batch, apply_batches
from purpose_lineage.store.base import (
    ALERT_CLAIM_RETENTION_DAYS,
    DEFAULT_DEPTH,
    DEFAULT_MAX_PATHS,
    DEFAULT_NAMESPACE,
    Assertion,
    DatasetInfo,
    GraphSnapshot,
    LineageStore,
    RunInfo,
    RunRecord,
    TagPredicate,
    Verdict,
    as_column_ref,
    edge_key,
    tag_key,
    utcnow,
)
from purpose_lineage.store.batch import Batch, naive_utc
from purpose_lineage.store.spool import Spool

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRIES = 6
DRAIN_GROUP = 200  # spooled batches merged into one transaction


class Unavailable(Exception):
    """The store cannot be reached now (server down, file locked): spool writes, fail reads."""


class _Rejected(Exception):
    """The store refused a batch for good (not a connectivity problem)."""


class Busy(Unavailable):
    """A peer process of this store holds the lock; it replays the spool when it lets go."""


def default_spool_root(url: str) -> Path:
    base = os.environ.get("PURPOSE_LINEAGE_SPOOL_DIR") or Path.home() / ".cache" / "purpose_lineage" / "spool"
    return Path(base)


def spool_key(url: str) -> str:
    """A folder name per store URL (password dropped), so stores never replay each other's files."""
    safe = url
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        safe = f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return hashlib.sha256(safe.encode()).hexdigest()[:16]


class SqlStore(LineageStore):
    """Shared logic of the SQL backends. Subclasses implement :meth:`_session` and :meth:`_classify`."""

    dialect = ""
    spool_first = False
    read_wait = 30.0  # seconds a read waits for the store lock
    write_wait = 0.0  # seconds a write waits before leaving its batch to the lock holder

    def __init__(self, url: str, *, spool_dir: Path | None = None):
        self.url = url
        root = Path(spool_dir) if spool_dir is not None else self._default_spool_dir()
        self.spool = Spool(root / spool_key(url))
        self._schema_checked = False

    # -- backend hooks -------------------------------------------------------------------

    def _default_spool_dir(self) -> Path:
        return default_spool_root(self.url)

    def _session(self, wait: float) -> contextlib.AbstractContextManager[Any]:
        """A :class:`~.apply.Conn` with ``begin/commit/rollback``; raises Unavailable."""
        raise NotImplementedError

    def _classify(self, exc: BaseException) -> str:
        """'unavailable', 'retry' or 'fatal' for a driver error."""
        raise NotImplementedError

    def _drain_lock(self, wait: float) -> contextlib.AbstractContextManager[bool]:
        from purpose_lineage.store.spool import file_lock

        return file_lock(self.spool.lock_path, wait)

    # -- transactions ----------------------------------------------------------------------

    def _run(self, fn: Callable[[Any], T], *, wait: float, tx: bool = True) -> T:
        """Run ``fn(conn)`` in one transaction, retrying conflicts; raises Unavailable or StoreError.

        With ``tx=False`` ``fn`` manages its own transactions.
        """
        for attempt in range(RETRIES):
            try:
                with self._session(wait) as conn:
                    self._check_schema(conn)
                    if not tx:
                        return fn(conn)
                    conn.begin()
                    try:
                        result = fn(conn)
                    except BaseException:
                        conn.rollback()
                        raise
                    conn.commit()
                    return result
            except (Unavailable, StoreError):
                raise
            except Exception as exc:
                kind = self._classify(exc)
                if kind == "unavailable":
                    if attempt == 0:  # a stale pooled connection: try a fresh one once
                        continue
                    raise Unavailable(f"{type(exc).__name__}: {exc}".strip()) from exc
                if kind == "retry" and attempt < RETRIES - 1:
                    time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                    continue
                raise StoreError(
                    f"lineage store error ({self.dialect}): {type(exc).__name__}: {exc}"
                ) from exc
        raise Unavailable("lineage store kept failing")  # pragma: no cover - loop always returns or raises

    def _check_schema(self, conn: Any) -> None:
        if self._schema_checked:
            return
        try:  # one read when the schema is current (each task opens a new store)
            current = migrations.current_version(conn.q) == migrations.LATEST
        except Exception:  # no version table yet: _migrate creates it
            conn.rollback()
            current = False
        if not current:
            self._migrate(conn, migrations.LATEST)
        self._schema_checked = True

    def _migrate(self, conn: Any, target: int) -> None:
        conn.begin()
        self._schema_lock(conn)
        conn.x(migrations.VERSION_TABLE)
        version = migrations.current_version(conn.q)
        conn.commit()
        if version > migrations.LATEST:
            raise Unavailable(
                f"lineage store schema v{version} is newer than this package "
                f"(v{migrations.LATEST}); upgrade the package"
            )
        for m in migrations.pending(version, target):
            conn.begin()
            self._schema_lock(conn)
            if migrations.current_version(conn.q) >= m.version:  # another process got there first
                conn.rollback()
                continue
            for sql in migrations.statements(m, self.dialect):
                conn.x(sql)
            conn.x(
                "INSERT INTO pl_schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                migrations.version_row(m),
            )
            conn.commit()
            log.info("lineage store %s migrated to schema v%d", self.dialect, m.version)

    def _schema_lock(self, conn: Any) -> None:
        """Serialise migrations across processes (PostgreSQL); DuckDB already holds the file lock."""

    def migrate(self, target: int = migrations.LATEST) -> int:
        """Bring the schema to ``target`` (default: latest); returns the version. For tests and the CLI."""
        with self._session(self.read_wait) as conn:
            self._migrate(conn, target)
            self._schema_checked = target == migrations.LATEST
            return migrations.current_version(conn.q)

    # -- writes ----------------------------------------------------------------------------

    def _submit(self, batch: Batch) -> bool:
        """Store ``batch`` now or spool it. True if it is in the store when this returns."""
        held = getattr(self, "_held", None)
        if held is not None and self.spool_first:
            return self._submit_held(held, batch)
        if self.spool_first:
            path = self.spool.put(batch.to_json())
            self.drain(wait=self.write_wait)
            return not path.exists() and not (self.spool.failed_dir / path.name).exists()
        try:
            self._run(lambda c: apply_batch(c, batch), wait=self.write_wait)
        except Unavailable as exc:
            self.spool.put(batch.to_json())
            log.warning("lineage store unreachable (%s); write spooled in %s", exc, self.spool.root)
            return False
        if self.spool.count():
            self.drain(wait=0.0)
        return True

    def _submit_held(self, conn: Any, batch: Batch) -> bool:
        """Inside :meth:`session` the store lock is ours: apply directly, as PostgreSQL does.

        Nobody else can apply while we hold the lock, so a spool file would only cost a
        write and an fsync. Anything but success falls back to the spool (kept, replayed).
        """
        try:
            self._apply_group(conn, [batch])
            return True
        except _Rejected as exc:
            path = self.spool.put(batch.to_json())
            self.spool.quarantine(path, str(exc.__cause__ or exc))
        except Exception as exc:
            self.spool.put(batch.to_json())
            log.warning("lineage store write failed (%s); spooled in %s", type(exc).__name__, self.spool.root)
        return False

    def drain(self, wait: float = 0.0) -> int:
        applied = 0
        while self.spool.count():
            with self._drain_lock(wait) as got:
                if not got:
                    return applied  # the holder looks at the spool again when it lets go
                try:
                    applied += self._run(self._apply_spooled, wait=wait, tx=False)
                except Busy:
                    return applied  # a peer holds the store; it drains when it lets go
                except Unavailable as exc:
                    log.info("lineage store still unreachable (%s); %d writes wait", exc, self.spool.count())
                    return applied
        return applied

    def _apply_spooled(self, conn: Any) -> int:
        """Apply pending files, many per transaction; commit, then unlink (a crash replays a no-op)."""
        applied = 0
        files = self.spool.files()
        for i in range(0, len(files), DRAIN_GROUP):
            group: list[tuple[Path, Batch]] = []
            for path in files[i : i + DRAIN_GROUP]:
                try:
                    group.append((path, Batch.from_json(path.read_bytes())))
                except FileNotFoundError:
                    continue  # another drainer took it
                except StoreError as exc:
                    self.spool.quarantine(path, str(exc))
            if not group:
                continue
            try:
                self._apply_group(conn, [b for _, b in group])
            except _Rejected:
                # something in the group can never be stored: find it file by file
                for path, batch in group:
                    try:
                        self._apply_group(conn, [batch])
                    except _Rejected as exc:
                        self.spool.quarantine(path, str(exc.__cause__ or exc))
                        continue
                    path.unlink(missing_ok=True)
                    applied += 1
                continue
            for path, _ in group:
                path.unlink(missing_ok=True)
            applied += len(group)
        return applied

    def _apply_group(self, conn: Any, batches: list[Batch]) -> None:
        for attempt in range(RETRIES):
            conn.begin()
            try:
                apply_batches(conn, batches)
                conn.commit()
                return
            except Exception as exc:
                conn.rollback()
                kind = self._classify(exc)
                if kind == "retry" and attempt < RETRIES - 1:
                    time.sleep(random.uniform(0.01, 0.05))
                    continue
                if kind == "unavailable":
                    raise
                raise _Rejected(f"{type(exc).__name__}: {exc}") from exc

    def pending(self) -> int:
        return self.spool.count()

    def record_dataset(
        self, table: str, columns: Sequence[str] = (), namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        self._submit(Batch.build(datasets=[DatasetInfo(table, tuple(columns), namespace)]))

    def record_lineage(
        self,
        run: RunInfo,
        edges: Iterable[Edge] = (),
        tags: Iterable[Tag] = (),
        datasets: Iterable[DatasetInfo] = (),
        *,
        inputs: Iterable[str] = (),
        outputs: Iterable[str] = (),
        assertions: Iterable[Assertion] = (),
    ) -> bool:
        if not isinstance(run, RunInfo):
            raise StoreError(f"record_lineage needs a RunInfo, got {type(run).__name__}")
        batch = Batch.build(
            run,
            datasets=datasets,
            edges=edges,
            tags=tags,
            inputs=inputs,
            outputs=outputs,
            assertions=assertions,
        )
        return self._submit(batch)

    def record_batch(self, batch: Batch) -> bool:
        if not isinstance(batch, Batch):
            raise StoreError(f"record_batch needs a Batch, got {type(batch).__name__}")
        return self._submit(batch)

    def record_tags(self, tags: Iterable[Tag]) -> None:
        self._submit(Batch.build(tags=tags))

    def record_verdict(self, verdict: Verdict) -> None:
        self._submit(Batch.build(verdicts=[verdict]))

    # -- reads -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self) -> Iterator[SqlStore]:
        """Hold one session for a task's reads and its write: one lock and connection, not one per call.

        Tasks ask a handful of questions in a row (runs, edges, tags of a few tables) and then
        record what they did; on a DuckDB file each session costs a lock, an open and a close.
        Inside, DuckDB applies writes directly on the held connection (the lock is ours), after
        the files that waited in the spool; on release it looks at the spool again, so files
        spooled by peers meanwhile are applied. PostgreSQL writes take their usual path.
        """
        if getattr(self, "_held", None) is not None:
            yield self
            return
        if self.spool.count() and not self.spool_first:
            self.drain(wait=self.read_wait)
        try:
            with self._session(self.read_wait) as conn:
                self._check_schema(conn)
                if self.spool_first and self.spool.count():  # read the writes that waited
                    try:
                        self._apply_spooled(conn)
                    except Exception as exc:  # they stay in the spool, as when a drain fails
                        log.info("spooled lineage writes not applied yet (%s)", type(exc).__name__)
                self._held = conn
                try:
                    yield self
                finally:
                    self._held = None
        except Unavailable as exc:
            raise StoreError(f"lineage store unreachable: {exc}") from exc
        if self.spool_first and self.spool.count():
            self.drain(wait=0.0)  # peers that found the lock taken left their files to us

    def reading(self) -> contextlib.AbstractContextManager[SqlStore]:
        """Several reads in one session; see :meth:`session`."""
        return self.session()

    def _read(self, fn: Callable[[Conn], T]) -> T:
        held = getattr(self, "_held", None)
        if held is not None:
            return fn(held)
        if self.spool.count():
            self.drain(wait=self.read_wait)  # read your own (spooled) writes when the store is back
        try:
            return self._run(fn, wait=self.read_wait)
        except Unavailable as exc:
            raise StoreError(f"lineage store unreachable: {exc}") from exc
        finally:
            if self.spool_first and self.spool.count():
                self.drain(wait=0.0)

    # -- alert claims (not spooled: a claim that cannot reach the store is no claim) ---------

    supports_alert_claims = True

    def claim_alert(self, key: Any) -> bool:
        row = _claim_row(key)
        now = naive_utc(utcnow())
        cutoff = now - timedelta(days=ALERT_CLAIM_RETENTION_DAYS)

        def claim(c: Conn) -> bool:
            c.x("DELETE FROM pl_alert_claims WHERE claimed_at < ?", [cutoff])
            got = c.q(
                "INSERT INTO pl_alert_claims (dag_id, run_id, sink, fingerprint, channel, claimed_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                [*row, now],
            )
            return bool(got)

        return self._claims(claim)

    def release_alert(self, key: Any) -> None:
        row = _claim_row(key)
        self._claims(
            lambda c: c.x(
                "DELETE FROM pl_alert_claims "
                "WHERE dag_id = ? AND run_id = ? AND sink = ? AND fingerprint = ? AND channel = ?",
                row,
            )
        )

    def _claims(self, fn: Callable[[Conn], T]) -> T:
        try:
            return self._run(fn, wait=self.read_wait)
        except Unavailable as exc:
            raise StoreError(f"lineage store unreachable: {exc}") from exc

    def schema_version(self) -> int:
        return self._read(lambda c: migrations.current_version(c.q))

    def change_marker(self) -> int:
        # bumped inside every writing transaction (apply.BUMP_CHANGES)
        return self._read(lambda c: int(c.q("SELECT counter FROM pl_store_changes WHERE id = 1")[0][0]))

    def tags_for(self, tables: Iterable[str]) -> list[Tag]:
        names = sorted({as_column_ref(t).table for t in tables})
        where, params = among("d.name", names)
        return self._read(
            lambda c: sorted(
                (reads.tag(r) for r in c.q(f"{reads.TAG_NAMES} WHERE {where}", params)), key=tag_key
            )
        )

    def edges(self, *, dag_id: str | None = None, run_id: str | None = None) -> list[Edge]:
        sql, params = reads.EDGE_NAMES, []
        if dag_id is not None or run_id is not None:
            sql += (
                " WHERE EXISTS (SELECT 1 FROM pl_edge_runs er JOIN pl_runs r ON r.run_id = er.run_id "
                "WHERE er.source_id = e.source_id AND er.target_id = e.target_id AND er.subtype = e.subtype"
            )
            if dag_id is not None:
                sql += " AND r.dag_id = ?"
                params.append(dag_id)
            if run_id is not None:
                sql += " AND r.run_id = ?"
                params.append(run_id)
            sql += ")"
        return self._read(lambda c: sorted((reads.edge(r) for r in c.q(sql, params)), key=edge_key))

    def edges_into(self, tables: Iterable[str]) -> list[Edge]:
        names = sorted({as_column_ref(t).table for t in tables})
        where, params = among("td.name", names)
        sql = f"{reads.EDGE_NAMES} WHERE {where}"
        return self._read(lambda c: sorted((reads.edge(r) for r in c.q(sql, params)), key=edge_key))

    def _closure(self, ref: ColumnRef | str, depth: int, up: bool) -> list[Edge]:
        target = as_column_ref(ref)
        _check_depth(depth)
        return self._read(lambda c: search.closure(c, target, depth, up=up))

    def upstream(self, ref: ColumnRef | str, depth: int = DEFAULT_DEPTH) -> list[Edge]:
        return self._closure(ref, depth, up=True)

    def downstream(self, ref: ColumnRef | str, depth: int = DEFAULT_DEPTH) -> list[Edge]:
        return self._closure(ref, depth, up=False)

    def paths_into(
        self,
        sink_table: str,
        *,
        purposes: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        sources: Iterable[ColumnRef | str] | None = None,
        where: TagPredicate | None = None,
        tag_sources: Iterable[TagSource | str] = (TagSource.DECLARED, TagSource.DETECTED),
        depth: int = DEFAULT_DEPTH,
        max_paths: int = DEFAULT_MAX_PATHS,
    ) -> list[list[Edge]]:
        _check_depth(depth)
        sink = as_column_ref(sink_table).table
        wanted_p = None if purposes is None else [str(p) for p in purposes]
        wanted_c = None if categories is None else [str(p) for p in categories]
        src = None if sources is None else [as_column_ref(s) for s in sources]
        kinds = {TagSource(str(s).lower()).value for s in tag_sources}
        return self._read(
            lambda c: search.paths_into(
                c,
                sink,
                sources=src,
                purposes=wanted_p,
                categories=wanted_c,
                where=where,
                tag_sources=kinds,
                depth=depth,
                max_paths=max_paths,
            )
        )

    def runs_for(self, table: str) -> list[RunRecord]:
        name = as_column_ref(table).table
        return self._read(lambda c: reads.runs_for(c, name))

    def latest_writers(self, tables: Iterable[str]) -> dict[str, str | None]:
        names = {t: as_column_ref(t).table for t in tables}
        found = self._read(lambda c: reads.latest_writers(c, sorted(set(names.values()))))
        return {t: found.get(n) for t, n in names.items()}

    def verdicts_for(self, table: str | None = None, *, run_id: str | None = None) -> list[Verdict]:
        name = None if table is None else as_column_ref(table).table
        return self._read(lambda c: reads.verdicts(c, table=name, run_id=run_id))

    def graph(
        self,
        *,
        dag_id: str | None = None,
        run_id: str | None = None,
        tables: Iterable[str] | None = None,
    ) -> GraphSnapshot:
        wanted = None if tables is None else sorted({as_column_ref(t).table for t in tables})
        edges = self.edges(dag_id=dag_id, run_id=run_id) if (dag_id or run_id) else None

        def read(c: Conn) -> GraphSnapshot:
            nonlocal edges
            if edges is None:
                edges = sorted((reads.edge(r) for r in c.q(reads.EDGE_NAMES, [])), key=edge_key)
            es = edges
            if wanted is not None:
                es = [e for e in es if e.source.table in wanted or e.target.table in wanted]
            runs = _runs_matching(c, dag_id, run_id)
            if dag_id is None and run_id is None and wanted is None:
                names = None
            else:
                names = sorted(
                    {n for e in es for n in (e.source.table, e.target.table)}
                    | set(wanted or ())
                    | {n for r in runs for n in (*r.inputs, *r.outputs)}
                )
            datasets = reads.datasets(c, names)
            tag_sql = reads.TAG_NAMES + (
                "" if names is None else " WHERE d.name IN (SELECT unnest(?::TEXT[]))"
            )
            tags = sorted((reads.tag(r) for r in c.q(tag_sql, [] if names is None else [names])), key=tag_key)
            verdicts = reads.verdicts(c, run_id=run_id, dag_id=dag_id)
            if wanted is not None:
                verdicts = [v for v in verdicts if v.sink in wanted or run_id or dag_id]
            return GraphSnapshot(
                tuple(datasets),
                tuple(es),
                tuple(tags),
                tuple(runs),
                tuple(verdicts),
                tuple(reads.assertions(c, names)),
            )

        return self._read(read)


def _runs_matching(c: Conn, dag_id: str | None, run_id: str | None) -> list[RunRecord]:
    sql = f"SELECT {reads.RUN_COLS} FROM pl_runs r WHERE 1 = 1"
    params = []
    if dag_id is not None:
        sql += " AND r.dag_id = ?"
        params.append(dag_id)
    if run_id is not None:
        sql += " AND r.run_id = ?"
        params.append(run_id)
    return reads._runs(c, c.q(sql, params))


def _claim_row(key: Any) -> list[str]:
    fields = ("dag_id", "run_id", "sink", "fingerprint", "channel")
    row = [str(getattr(key, f, "") or "") for f in fields]
    missing = [f for f, v in zip(fields, row, strict=True) if not v and f != "sink"]
    if missing:
        raise StoreError(f"an alert claim key needs non-empty {', '.join(missing)}")
    return row


def _check_depth(depth: int) -> None:
    if not isinstance(depth, int) or depth < 0 or depth > 1000:
        raise StoreError(f"depth must be an integer between 0 and 1000, got {depth!r}")
