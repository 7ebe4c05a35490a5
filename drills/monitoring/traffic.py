"""Steady request traffic for the monitoring drill: an error rate or a latency percentile needs
requests to measure, whatever else runs.

A few threads GET `/health` (which reads both databases) at a fixed total rate through the
control plane's shared address, each on its own connection; failures are expected during faults
and only counted. Bounded: at most `rate` requests a second, stopped by `stop()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from drills.controlplane import paths
from drills.controlplane.connection import Connection, Endpoint
from drills.errors import ServiceError

__all__ = ["Traffic", "TrafficCounts"]

PATH = paths.HEALTH
TIMEOUT_SECONDS = 5.0


@dataclass
class TrafficCounts:
    sent: int = 0
    answered_ok: int = 0
    answered_error: int = 0
    no_answer: int = 0


class Traffic:
    def __init__(self, endpoint: Endpoint, rate_per_second: float = 10.0, threads: int = 4) -> None:
        self.endpoint = endpoint
        self.interval = threads / rate_per_second  # per thread
        self.counts = TrafficCounts()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"alert-traffic-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> TrafficCounts:
        self._stop.set()
        for thread in self._threads:
            thread.join(TIMEOUT_SECONDS + 1.0)
        return self.counts

    def _run(self) -> None:
        client = Connection(self.endpoint, TIMEOUT_SECONDS, user_agent="drills-alert-traffic")
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    status = client.request("GET", PATH).status
                    outcome = "answered_ok" if status < 500 else "answered_error"
                except ServiceError:
                    outcome = "no_answer"
                with self._lock:
                    self.counts.sent += 1
                    setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
                next_at = max(next_at + self.interval, time.monotonic())
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            client.close()
