"""Database connection pool use, polled from the runbook's metrics endpoint during a drill.

The runbook's objective is "database connections < 80 % of pool capacity". The control plane
reports its pool at `GET /api/resilience/metrics` (`resilience.pool.in_use` / `capacity`); this
polls it once a second (each poll a new connection, so replicas are visited in turn) and keeps
`(t, in_use / capacity)`. The peak over the steady phase is what the objective judges.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from drills.clock import RunClock
from drills.wire import WireClient, WireError

METRICS_PATH = "/api/resilience/metrics"


def utilisation(body: bytes) -> float | None:
    """in_use / capacity from a metrics answer, None when it does not say."""
    try:
        pool = json.loads(body)["resilience"]["pool"]
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

    def __init__(self, base_url: str, clock: RunClock, interval_seconds: float = 1.0) -> None:
        parts = urlsplit(base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.rstrip("/")
        self._clock = clock
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._readings: list[tuple[float, float]] = []
        self._thread = threading.Thread(target=self._poll, name="drills-poolwatch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            client = WireClient(self._origin, 1.0, "drills-poolwatch")
            try:
                t = self._clock.now()
                status, body = client.request("GET", self._prefix + METRICS_PATH)
                value = utilisation(body) if status == 200 else None
                if value is not None:
                    self._readings.append((t, value))
            except WireError:
                pass  # an outage: the health signals say so; nothing to read here
            finally:
                client.close()
            self._stop.wait(self._interval)

    def stop(self) -> tuple[tuple[float, float], ...]:
        self._stop.set()
        self._thread.join(timeout=3.0)
        return tuple(self._readings)
