"""DuckDB backend: one file, no server (the default).

A DuckDB file admits one writing process at a time, and Airflow runs each task in its own
process. So the store never keeps the file open: every read or write takes an exclusive
``flock`` on ``<file>.lock``, opens the file, works, and closes it (tens of ms). Writes go
to the spool first; the process that holds the lock applies every pending file. A file
opened by a foreign program (a DuckDB shell, a notebook) makes writes wait in the spool
and reads raise StoreError after ``read_wait`` seconds.

Starting a DuckDB database costs more than anything a task asks of the store (~13 ms, the
same for ``:memory:``). A task that already has a DuckDB warehouse open can lend it with
:meth:`DuckDBStore.attached_to`: its sessions then ATTACH the store file to that database
instance (~2 ms) instead of starting one of their own.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from purpose_lineage.errors import StoreError
from purpose_lineage.store.spool import file_lock
from purpose_lineage.store.sql import Busy, SqlStore, Unavailable

log = logging.getLogger(__name__)
_aliases = itertools.count()


def duckdb_path(url: str) -> Path:
    """The file of a ``duckdb:///relative`` or ``duckdb:////absolute`` URL (SQLAlchemy's form).

    >>> str(duckdb_path("duckdb:////tmp/lineage.duckdb"))
    '/tmp/lineage.duckdb'
    """
    if not url.lower().startswith("duckdb:///"):
        raise StoreError("a DuckDB store URL looks like duckdb:///relative/path or duckdb:////absolute/path")
    path = url[len("duckdb:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        raise StoreError("the DuckDB lineage store needs a file (many processes share it), not :memory:")
    return Path(path)


class _Conn:
    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def x(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(sql, list(params))

    def begin(self) -> None:
        self.con.begin()

    def commit(self) -> None:
        self.con.commit()

    def rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.rollback()


class DuckDBStore(SqlStore):
    dialect = "duckdb"
    spool_first = True

    def __init__(self, url: str, *, spool_dir: Path | None = None):
        self.path = duckdb_path(url).expanduser().absolute()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._thread_lock = threading.Lock()
        self._host: duckdb.DuckDBPyConnection | None = None
        super().__init__(url, spool_dir=spool_dir)

    def _default_spool_dir(self) -> Path:
        return self.path.with_name(self.path.name + ".spool")

    def _drain_lock(self, wait: float) -> contextlib.AbstractContextManager[bool]:
        return _always()  # the session's file lock already excludes other drainers

    @contextlib.contextmanager
    def _session(self, wait: float) -> Iterator[_Conn]:
        lock = self._thread_lock
        if not (lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)):
            raise Busy("another thread of this process is using the store")
        try:
            with file_lock(self.lock_path, wait) as got:
                if not got:
                    raise Busy("another process holds the lineage store lock")
                host = self._host
                attached = self._attach(host, wait) if host is not None else None
                if host is not None and attached is not None:
                    cursor, alias = attached
                    try:
                        yield _Conn(cursor)
                    finally:
                        cursor.close()
                        _detach(host, alias)
                    return
                con = self._connect(wait)
                try:
                    yield _Conn(con)
                finally:
                    con.close()
        finally:
            lock.release()

    @contextlib.contextmanager
    def attached_to(self, connection: Any) -> Iterator[DuckDBStore]:
        """Inside, sessions attach the store file to ``connection``'s DuckDB instance.

        ``connection`` must stay open for the block; anything that is not a DuckDB connection
        (a PostgreSQL warehouse, None) changes nothing. Locking is unchanged: a session still
        takes the store's file lock, and the file is detached (checkpointed, closed) when the
        session ends.
        """
        if not isinstance(connection, duckdb.DuckDBPyConnection):
            yield self
            return
        previous, self._host = self._host, connection
        try:
            yield self
        finally:
            self._host = previous

    def _attach(
        self, host: duckdb.DuckDBPyConnection, wait: float
    ) -> tuple[duckdb.DuckDBPyConnection, str] | None:
        """A cursor of ``host`` whose default database is the store; None: open one of our own."""
        alias = f"purpose_lineage_store_{next(_aliases)}"
        literal = "'" + str(self.path).replace("'", "''") + "'"
        deadline = time.monotonic() + wait
        delay = 0.01
        cursor = host.cursor()
        while True:
            try:
                cursor.execute(f'ATTACH {literal} AS "{alias}"')
                try:
                    cursor.execute(f'USE "{alias}"')
                except duckdb.Error:
                    _detach(host, alias)  # attached but unusable: leave the file free for our own open
                    raise
                return cursor, alias
            except duckdb.IOException as exc:  # locked by a program outside this store
                if time.monotonic() >= deadline:
                    cursor.close()
                    raise Unavailable(f"cannot open {self.path.name}: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
            except duckdb.Error as exc:  # e.g. this process has the file open already
                cursor.close()
                log.debug("lineage store not attached (%s); opening it on its own", type(exc).__name__)
                return None

    def _connect(self, wait: float) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + wait
        delay = 0.01
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:  # locked by a program outside this store
                if time.monotonic() >= deadline:
                    raise Unavailable(f"cannot open {self.path.name}: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    def _classify(self, exc: BaseException) -> str:
        if isinstance(exc, duckdb.IOException):
            return "unavailable"
        if isinstance(exc, duckdb.TransactionException):
            return "retry"
        return "fatal"


def _detach(host: duckdb.DuckDBPyConnection, alias: str) -> None:
    # DETACH checkpoints and closes the file, as close() does for a database of its own
    cursor = host.cursor()
    try:
        cursor.execute(f'DETACH DATABASE IF EXISTS "{alias}"')
    finally:
        cursor.close()


@contextlib.contextmanager
def _always() -> Iterator[bool]:
    yield True
