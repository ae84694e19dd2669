"""Real local OpenLineage backends for fault tests: down (closed port), hanging, and a receiver.

Each backend runs as its own process (``python ol_backends.py hang|receive PORT FILE``), so
that processes forked by the task runner never inherit its listening socket (a forked child
would otherwise keep the port bound after the backend "went away"). ``HangingServer``
accepts connections and never answers, appending one line to FILE per connection;
``EventReceiver`` answers ``POST /api/v1/lineage`` with 201 and appends each event to FILE
as one JSON line. ``free_port()`` gives a port nobody listens on (connections are refused).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class _Backend:
    kind = ""

    def __init__(self, port: int, record: Path):
        self.port, self.record = port, Path(record)
        self.record.write_text("")
        self._proc = subprocess.Popen(
            [sys.executable, __file__, self.kind, str(port), str(record)], stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{self.kind} backend did not start on port {port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        return [ln for ln in self.record.read_text().splitlines() if ln]

    def stop(self) -> None:
        self._proc.kill()
        self._proc.wait()


class HangingServer(_Backend):
    """Accepts every connection, reads nothing, answers nothing, until ``stop()``."""

    kind = "hang"

    @property
    def accepted(self) -> int:
        return len(self.lines())


class EventReceiver(_Backend):
    """Records the OpenLineage events POSTed to it; answers 201 like Marquez."""

    kind = "receive"

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(ln) for ln in self.lines()]

    def counts(self) -> Counter:
        """How often each (run id, event type, event time) arrived."""
        return Counter(event_identity(e) for e in self.events)


def event_identity(event: dict[str, Any]) -> tuple[str, str, str]:
    return ((event.get("run") or {}).get("runId", ""), event.get("eventType", ""), event.get("eventTime", ""))


def _serve_hanging(port: int, record: Path) -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(128)
    print("ready", flush=True)
    held = []
    with open(record, "a", encoding="utf-8") as out:
        while True:
            conn, _ = server.accept()
            held.append(conn)  # kept open: the client waits for an answer that never comes
            out.write(f"{time.time()}\n")
            out.flush()


def _serve_receiver(port: int, record: Path) -> None:
    out = open(record, "a", encoding="utf-8")  # noqa: SIM115 - open for the server's life

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            out.write(json.dumps(json.loads(body)) + "\n")
            out.flush()
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


def _exit_with_parent() -> None:
    import os
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    kind, port_arg, record_arg = sys.argv[1:4]
    _exit_with_parent()  # a test that dies does not leave a backend behind
    (_serve_hanging if kind == "hang" else _serve_receiver)(int(port_arg), Path(record_arg))
