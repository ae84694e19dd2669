"""PostgreSQL backend (psycopg2): many workers and machines write concurrently.

Writes go straight to the server; PostgreSQL's row locks and ``ON CONFLICT`` make
concurrent writers safe, and rows are inserted in a fixed order so writers cannot
deadlock. When the server is unreachable, or a lock is held longer than ``lock_timeout``,
the write is spooled locally and replayed by the next access that reaches the server.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from purpose_lineage.errors import StoreError
from purpose_lineage.store.sql import SqlStore, Unavailable

CONNECT_TIMEOUT = 3  # seconds
LOCK_TIMEOUT_MS = 5000
STATEMENT_TIMEOUT_MS = 120_000
SCHEMA_LOCK = int(hashlib.sha256(b"purpose_lineage.schema").hexdigest()[:15], 16)


def dsn(url: str) -> str:
    """A libpq URI from a store URL (``postgresql+psycopg2://`` and ``postgres://`` accepted).

    >>> dsn("postgresql+psycopg2://u@h:5432/db")
    'postgresql://u@h:5432/db'
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres", "postgresql+psycopg2"):
        raise StoreError("a PostgreSQL store URL looks like postgresql://user@host:5432/database")
    return "postgresql://" + rest


def url_options(url: str) -> str:
    """The ``options`` query parameter of a libpq URI, e.g. a ``search_path`` for the store's tables.

    >>> url_options("postgresql://h/db?options=-csearch_path%3Dlineage")
    '-csearch_path=lineage'
    """
    from urllib.parse import parse_qs, urlsplit

    return " ".join(parse_qs(urlsplit(url).query).get("options", []))


class _Conn:
    dialect = "postgresql"

    def __init__(self, conn: Any):
        self.conn = conn

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params))
            return cur.fetchall() if cur.description is not None else []

    def x(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params))

    def begin(self) -> None:
        pass  # psycopg2 opens a transaction on the first statement

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.rollback()


class PostgresStore(SqlStore):
    dialect = "postgresql"
    spool_first = False
    lock_timeout_ms = LOCK_TIMEOUT_MS  # a write blocked longer than this is spooled instead
    statement_timeout_ms = STATEMENT_TIMEOUT_MS

    def __init__(self, url: str, *, spool_dir: Path | None = None):
        self.dsn = dsn(url)
        self._lock = threading.RLock()
        self._conn: Any = None
        super().__init__(url, spool_dir=spool_dir)

    @contextlib.contextmanager
    def _session(self, wait: float) -> Iterator[_Conn]:
        import psycopg2

        with self._lock:
            if self._conn is None or self._conn.closed:
                try:
                    self._conn = psycopg2.connect(
                        self.dsn,
                        connect_timeout=CONNECT_TIMEOUT,
                        # libpq lets keyword options win over the URI's: keep the URI's (search_path)
                        options=f"{url_options(self.dsn)} -c lock_timeout={self.lock_timeout_ms} "
                        f"-c statement_timeout={self.statement_timeout_ms}".strip(),
                        application_name="purpose_lineage",
                    )
                except psycopg2.Error as exc:
                    self._conn = None
                    raise Unavailable(f"cannot connect: {str(exc).strip().splitlines()[0]}") from exc
            conn = self._conn
            try:
                yield _Conn(conn)
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    conn.rollback()
                if conn.closed or self._classify(exc) == "unavailable":
                    self.close()
                raise
            finally:
                if not conn.closed and conn.status != 1:  # leave no transaction open between calls
                    with contextlib.suppress(Exception):
                        conn.rollback()

    def _schema_lock(self, conn: Any) -> None:
        conn.x("SELECT pg_advisory_xact_lock(?)", [SCHEMA_LOCK])

    def _classify(self, exc: BaseException) -> str:
        import psycopg2
        from psycopg2 import errors

        if isinstance(exc, errors.LockNotAvailable):
            return "unavailable"  # held past lock_timeout: spool rather than block the task
        if isinstance(exc, psycopg2.extensions.TransactionRollbackError):
            return "retry"  # deadlock or serialization failure
        if isinstance(exc, errors.UniqueViolation):
            return "retry"  # a concurrent creator of the same schema object
        if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
            return "unavailable"
        return "fatal"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None
