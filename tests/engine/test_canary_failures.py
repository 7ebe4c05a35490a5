"""The canary keeps the send time of every write that failed, for the report's canary lane.

A real loopback HTTP server takes the canary's writes, then refuses them (503) from a switch
instant on: every failed write must be on record with a send time after the switch, and as many
as the failure counter says.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from drills.canary import CanaryWriter
from drills.clock import RunClock
from drills.controlplane.connection import Endpoint
from tests.loopback import QuietHandler, serving


class _Switch:
    def __init__(self) -> None:
        self.refusing = threading.Event()


def _handler(switch: _Switch) -> type[QuietHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.request_body()
            self.answer(503 if switch.refusing.is_set() else 201, {})

    return Handler


def test_failed_writes_keep_their_send_times(tmp_path: Path) -> None:
    switch = _Switch()
    clock = RunClock()
    with serving(_handler(switch)) as url:
        writer = CanaryWriter(
            Endpoint(url), "test-stream", clock, tmp_path / "canary.jsonl", rate=50.0
        )
        writer.start()
        time.sleep(0.6)
        switched_at = clock.now()
        switch.refusing.set()
        time.sleep(0.6)
        writer.stop()
    failed = writer.failed_sent()
    assert writer.counters.acked > 0
    assert writer.counters.failed > 0
    assert len(failed) == writer.counters.failed
    assert list(failed) == sorted(failed)
    # a write sent just before the switch may be answered after it: allow one canary interval
    assert min(failed) >= switched_at - writer.interval_seconds - 0.5
    assert max(w.sent_t for w in writer.acked()) <= max(failed)
