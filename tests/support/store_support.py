"""Helpers for the store integration tests: backends, raw row counts, a TCP proxy to stop PostgreSQL."""

from __future__ import annotations

import atexit
import os
import socket
import threading
from pathlib import Path

# Each test session gets its own schema in the database, so that sessions running at once (other
# checkouts run these tests too) never share tables.
PG_DATABASE_URL = os.environ.get(
    "PURPOSE_LINEAGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/pl_store"
)
PG_SCHEMA = f"pl_test_{os.getpid()}"
PG_URL = f"{PG_DATABASE_URL}?options=-csearch_path%3D{PG_SCHEMA}"
PLUGINS = str(Path(__file__).resolve().parents[2] / "plugins")


def pg_reachable(url: str = PG_URL) -> bool:
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=2).close()
        return True
    except psycopg2.Error:
        return False


def reset_postgres(url: str = PG_URL) -> None:
    """An empty schema for this test session (dropped again when the session ends)."""
    import psycopg2

    conn = psycopg2.connect(PG_DATABASE_URL, connect_timeout=3)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        cur.execute(f"CREATE SCHEMA {PG_SCHEMA}")
    conn.close()
    atexit.register(_drop_schema)


def _drop_schema() -> None:
    import psycopg2

    try:
        conn = psycopg2.connect(PG_DATABASE_URL, connect_timeout=3)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        conn.close()
    except psycopg2.Error:
        pass


def count(url: str, sql: str) -> int:
    """One number straight from the database, bypassing the store (and its spool)."""
    if url.startswith("duckdb"):
        import duckdb

        from purpose_lineage.store.duckdb_store import duckdb_path

        con = duckdb.connect(str(duckdb_path(url)), read_only=True)
        try:
            return int(con.execute(sql).fetchone()[0])
        finally:
            con.close()
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=3)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetchone()[0])
    finally:
        conn.close()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL. ``stop()`` is a server crash, ``start()`` its return."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def url(self) -> str:
        """PG_URL, through the proxy."""
        from urllib.parse import urlsplit

        parts = urlsplit(PG_URL)
        return parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{self.port}").geturl()

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            try:
                self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the proxy thread
            except OSError:
                pass
            self._server.close()
            self._server = None
        with self._lock:
            for s in self._conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._conns.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
