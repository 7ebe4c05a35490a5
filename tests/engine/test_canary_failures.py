"""The canary keeps the send time of every write that failed, for the report's canary lane.

A real loopback HTTP server takes the canary's writes, then refuses them (503) from a switch
instant on: every failed write must be on record with a send time after the switch, and as many
as the failure counter says.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from drills.canary import CanaryWriter
from drills.clock import RunClock
from drills.controlplane.connection import Endpoint


class _Switch:
    def __init__(self) -> None:
        self.refusing = threading.Event()


def _server(switch: _Switch) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            status = 503 if switch.refusing.is_set() else 201
            body = b"{}"
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            return

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def test_failed_writes_keep_their_send_times(tmp_path: Path) -> None:
    switch = _Switch()
    server = _server(switch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    clock = RunClock()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    writer = CanaryWriter(Endpoint(url), "test-stream", clock, tmp_path / "canary.jsonl", rate=50.0)
    try:
        writer.start()
        time.sleep(0.6)
        switched_at = clock.now()
        switch.refusing.set()
        time.sleep(0.6)
        writer.stop()
    finally:
        server.shutdown()
        server.server_close()
    failed = writer.failed_sent()
    assert writer.counters.acked > 0
    assert writer.counters.failed > 0
    assert len(failed) == writer.counters.failed
    assert list(failed) == sorted(failed)
    # a write sent just before the switch may be answered after it: allow one canary interval
    assert min(failed) >= switched_at - writer.interval_seconds - 0.5
    assert max(w.sent_t for w in writer.acked()) <= max(failed)
