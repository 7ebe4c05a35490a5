"""A throwaway HTTP server on loopback, for tests that need a service answering as they say.

Tests hand it a `BaseHTTPRequestHandler` subclass (often a closure over the test's own state);
the server binds a free port on 127.0.0.1 only, serves each request on its own thread and is
shut down, closed and joined when the block ends, whatever the test did.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["QuietHandler", "serving"]


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that keeps the test output clean, and reads a request's body or answers JSON in
    one call."""

    def log_message(self, format: str, *args: object) -> None:
        return None

    def request_body(self) -> bytes:
        """The request's body as sent (empty when it has none); read it before answering, so a
        keep-alive connection's next request starts where it should."""
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def answer(self, status: int, body: Any = None) -> None:
        """`status` with `body` as JSON (an empty body when None)."""
        content = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


@contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """Serve `handler` on a free loopback port, over TLS with the server context `tls` if given;
    yields the base URL (`http://127.0.0.1:PORT` or `https://...`)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, name="loopback-http", daemon=True)
    thread.start()
    try:
        scheme = "http" if tls is None else "https"
        yield f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
