"""Database connection pool use, polled from the runbook's metrics endpoint during a drill.

The runbook's objective is "database connections < 80 % of pool capacity". The control plane
reports its pool at `GET /api/resilience/metrics` (`resilience.pool.in_use` / `capacity`); this
polls it once a second (each poll a new connection, so replicas are visited in turn) and keeps
`(t, in_use / capacity)`. The peak over the steady phase is what the objective judges.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from drills.clock import RunClock
from drills.controlplane import paths
from drills.controlplane.connection import Endpoint, Reply, ask_fresh
from drills.errors import ServiceError


def utilisation(reply: Reply) -> float | None:
    """in_use / capacity from a metrics answer, None when it does not say."""
    if reply.status != 200:
        return None
    try:
        pool = reply.body["resilience"]["pool"]
        capacity = float(pool["capacity"])
        return float(pool["in_use"]) / capacity if capacity > 0 else None
    except (ValueError, KeyError, TypeError):
        return None


def peak_before(readings: Sequence[tuple[float, float]], until: float | None) -> float | None:
    """The highest utilisation read before `until` (the steady phase), or None."""
    values = [u for t, u in readings if until is None or t < until]
    return max(values) if values else None


class PoolWatch:
    """Start with the measurement; `stop()` returns every reading."""

    def __init__(self, endpoint: Endpoint, clock: RunClock, interval_seconds: float = 1.0) -> None:
        self._endpoint = endpoint
        self._clock = clock
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._readings: list[tuple[float, float]] = []
        self._thread = threading.Thread(target=self._poll, name="drills-poolwatch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            t = self._clock.now()
            try:
                reply = ask_fresh(self._endpoint, "GET", paths.RESILIENCE_METRICS, 1.0)
            except ServiceError:
                pass  # an outage: the health signals say so; nothing to read here
            else:
                value = utilisation(reply)
                if value is not None:
                    self._readings.append((t, value))
            self._stop.wait(self._interval)

    def stop(self) -> tuple[tuple[float, float], ...]:
        self._stop.set()
        self._thread.join(timeout=3.0)
        return tuple(self._readings)
