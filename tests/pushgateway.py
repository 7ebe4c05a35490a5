"""A tiny Pushgateway stand-in on loopback: records every push (method, path, body) and answers
200, so tests can hold what `drills` pushed against Prometheus' own text parser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Push:
    method: str
    path: str
    content_type: str
    body: str


@dataclass
class Recorder:
    url: str
    pushes: list[Push] = field(default_factory=list)


@contextmanager
def recording_pushgateway() -> Iterator[Recorder]:
    """A loopback HTTP server that records pushes until the block ends."""
    lock = threading.Lock()
    pushes: list[Push] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _record(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            with lock:
                pushes.append(
                    Push(self.command, self.path, self.headers.get("content-type", ""), body)
                )
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        do_PUT = do_POST = _record

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder = Recorder(f"http://127.0.0.1:{server.server_address[1]}", pushes)
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
