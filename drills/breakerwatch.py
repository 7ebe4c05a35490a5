"""Watching every replica's circuit breakers through a drill: how long was a breaker OPEN?

The runbook treats a tripped breaker as a symptom to detect and a state to clear, so a drill reports
the time during which any breaker on any replica was OPEN. Breakers live in each replica, so the
watcher polls `/api/resilience/metrics` on fresh connections (each lands on some replica, see
`drills.controlplane.every_replica`), keeps the latest state each replica reported and counts the time during which
at least one known state is OPEN. A replica that has not answered for `stale_seconds` (killed,
restarting) no longer counts: its breakers died with it. Time comes from the monotonic clock; the
result is known to about one polling interval. It also keeps the pool's peak use as it goes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from drills.controlplane import paths
from drills.controlplane.connection import Endpoint, ask_fresh
from drills.errors import InputError, ServiceError

__all__ = ["BreakerWatch", "WatchResult"]

OPEN = "open"


@dataclass
class WatchResult:
    """What the watch saw: open time overall and per breaker, polls, pool peak."""

    open_seconds: float = 0.0
    open_seconds_by_breaker: dict[str, float] = field(default_factory=dict)
    watched_seconds: float = 0.0
    polls: int = 0
    failed_polls: int = 0
    replicas_seen: list[str] = field(default_factory=list)
    first_open_after_seconds: float | None = None
    pool_peak_in_use: int = 0
    pool_capacity: int | None = None
    pool_peak_waiting: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "open_seconds": round(self.open_seconds, 3),
            "open_seconds_by_breaker": {
                k: round(v, 3) for k, v in sorted(self.open_seconds_by_breaker.items())
            },
            "watched_seconds": round(self.watched_seconds, 3),
            "polls": self.polls,
            "failed_polls": self.failed_polls,
            "replicas_seen": sorted(self.replicas_seen),
            "first_open_after_seconds": None
            if self.first_open_after_seconds is None
            else round(self.first_open_after_seconds, 3),
            "pool_peak_in_use": self.pool_peak_in_use,
            "pool_capacity": self.pool_capacity,
            "pool_peak_waiting": self.pool_peak_waiting,
        }


class BreakerWatch:
    """Polls in a background thread from `start()` to `stop()` (or `max_seconds`)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        interval_seconds: float = 0.05,
        max_seconds: float = 300.0,
        stale_seconds: float = 1.0,
        request_timeout_seconds: float = 0.5,
    ) -> None:
        if not 0 < interval_seconds <= 5 or not 0 < max_seconds <= 3600:
            raise InputError("breaker watch: interval in (0, 5] s and max_seconds in (0, 3600]")
        self.endpoint = endpoint
        self.interval_seconds = interval_seconds
        self.max_seconds = max_seconds
        self.stale_seconds = stale_seconds
        self.request_timeout_seconds = request_timeout_seconds
        self.result = WatchResult()
        self._latest: dict[str, tuple[float, dict[str, str]]] = {}  # replica -> (seen, states)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="breaker-watch", daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _open_now(self, now: float) -> set[str]:
        """Breakers OPEN on some replica whose latest answer is fresh."""
        return {
            name
            for seen, states in self._latest.values()
            if now - seen <= self.stale_seconds
            for name, state in states.items()
            if state == OPEN
        }

    def _poll(self) -> None:
        try:
            answer = ask_fresh(
                self.endpoint,
                "GET",
                paths.RESILIENCE_METRICS,
                timeout_seconds=self.request_timeout_seconds,
            )
        except ServiceError:
            self.result.failed_polls += 1
            return
        resilience = answer.body.get("resilience") or {}
        breakers = resilience.get("breakers") or {}
        if answer.status != 200 or not isinstance(breakers, dict):
            self.result.failed_polls += 1
            return
        replica = answer.replica or "?"
        states = {str(n): str((b or {}).get("state", "")).lower() for n, b in breakers.items()}
        self._latest[replica] = (time.monotonic(), states)
        if replica not in self.result.replicas_seen:
            self.result.replicas_seen.append(replica)
        pool = resilience.get("pool") or {}
        if isinstance(pool, dict):
            self.result.pool_peak_in_use = max(
                self.result.pool_peak_in_use, int(pool.get("in_use", 0))
            )
            self.result.pool_peak_waiting = max(
                self.result.pool_peak_waiting, int(pool.get("waiting", 0))
            )
            if pool.get("capacity") is not None:
                self.result.pool_capacity = int(pool["capacity"])

    def _loop(self) -> None:
        previous = self._started
        open_before: set[str] = set()
        while not self._stop.is_set():
            self._poll()
            now = time.monotonic()
            with self._lock:
                span = now - previous
                result = self.result
                result.polls += 1
                if open_before:
                    result.open_seconds += span
                    for name in open_before:
                        result.open_seconds_by_breaker[name] = (
                            result.open_seconds_by_breaker.get(name, 0.0) + span
                        )
                open_before = self._open_now(now)
                if open_before and result.first_open_after_seconds is None:
                    result.first_open_after_seconds = now - self._started
                result.watched_seconds = now - self._started
            previous = now
            if now - self._started >= self.max_seconds:
                return
            self._stop.wait(self.interval_seconds)

    def stop(self) -> WatchResult:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.request_timeout_seconds + 2.0)
        return self.result
