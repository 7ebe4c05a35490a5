"""The timeline sampler: polls every signal of the target at a fixed rate in the background.

One thread per signal, so a signal that hangs until its timeout never delays the others. Ticks are
scheduled on the run clock (start + k x interval) and skipped, not bunched, when a check overruns.
A sample is stamped with the time its check was sent.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import psycopg
import redis as redis_client

from drills.clock import RunClock
from drills.models import Sample
from drills.targets.base import SignalKind, SignalSpec
from drills.wire import WireClient, WireError

HEALTH_QUERY = {"query": "{ healthCheck }"}


class Check(Protocol):
    """One probe of one signal: (ok, latency_seconds or None, detail)."""

    def __call__(self) -> tuple[bool, float | None, str | None]: ...

    def close(self) -> None: ...


class HttpCheck:
    """GET returns 2xx (HTTP) or POST { healthCheck } answers true (GraphQL)."""

    def __init__(self, spec: SignalSpec, clock: RunClock, timeout_seconds: float) -> None:
        parts = urlsplit(spec.address)
        self._path = parts.path or "/"
        self._graphql = spec.kind is SignalKind.GRAPHQL
        self._clock = clock
        self._client = WireClient(
            f"{parts.scheme}://{parts.netloc}", timeout_seconds, "drills-sampler"
        )

    def __call__(self) -> tuple[bool, float | None, str | None]:
        started = self._clock.now()
        try:
            if self._graphql:
                status, body = self._client.request("POST", self._path, HEALTH_QUERY)
                ok = status == 200 and _health_true(body)
            else:
                status, _ = self._client.request("GET", self._path)
                ok = 200 <= status < 300
            detail = None if ok else f"HTTP {status}"
        except WireError as exc:
            ok, detail = False, str(exc)
        return ok, self._clock.now() - started, detail

    def close(self) -> None:
        self._client.close()


def _health_true(body: bytes) -> bool:
    try:
        return json.loads(body).get("data", {}).get("healthCheck") is True
    except (ValueError, AttributeError):
        return False


class PostgresCheck:
    """SELECT 1 over a kept connection through the read-write path; reconnects after a failure."""

    def __init__(self, spec: SignalSpec, timeout_seconds: float) -> None:
        self._conninfo = spec.address
        self._timeout = max(1, round(timeout_seconds))
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def __call__(self) -> tuple[bool, float | None, str | None]:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=self._timeout,
                    # a silently dropped path (a blackhole) must fail the check, not hang it
                    tcp_user_timeout=self._timeout * 1000,
                    keepalives=1,
                    keepalives_idle=1,
                    keepalives_interval=1,
                    keepalives_count=1,
                )
            self._conn.execute("SELECT 1")
            return True, None, None
        except psycopg.Error as exc:
            self.close()
            return False, None, type(exc).__name__

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None


class RedisCheck:
    def __init__(self, spec: SignalSpec, timeout_seconds: float) -> None:
        self._client = redis_client.Redis.from_url(
            spec.address, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )

    def __call__(self) -> tuple[bool, float | None, str | None]:
        try:
            return bool(self._client.ping()), None, None
        except redis_client.RedisError as exc:
            return False, None, type(exc).__name__

    def close(self) -> None:
        self._client.close()


def make_check(spec: SignalSpec, clock: RunClock, timeout_seconds: float) -> Check:
    if spec.kind in (SignalKind.HTTP, SignalKind.GRAPHQL):
        return HttpCheck(spec, clock, timeout_seconds)
    if spec.kind is SignalKind.POSTGRES:
        return PostgresCheck(spec, timeout_seconds)
    return RedisCheck(spec, timeout_seconds)


class Sampler:
    """Samples every signal until stopped; hands each sample to `sink` (timeline, display...)."""

    def __init__(
        self,
        signals: Sequence[SignalSpec],
        clock: RunClock,
        sink: Callable[[Sample], None],
        *,
        interval_seconds: float = 0.1,
        timeout_seconds: float = 0.5,
    ) -> None:
        self._signals = list(signals)
        self._clock = clock
        self._sink = sink
        self.interval_seconds = interval_seconds
        self._timeout = timeout_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for spec in self._signals:
            thread = threading.Thread(
                target=self._loop, args=(spec,), name=f"sampler-{spec.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self, spec: SignalSpec) -> None:
        check: Check | None = None
        broken = ""
        try:
            check = make_check(spec, self._clock, self._timeout)
        except Exception as exc:  # e.g. an address it cannot use: every sample says so
            broken = f"cannot check: {exc}"
        start = self._clock.now()
        tick = 0
        try:
            while not self._stop.is_set():
                sent = self._clock.now()
                detail: str | None
                if check is None:
                    ok, latency, detail = False, None, broken
                else:
                    try:
                        ok, latency, detail = check()
                    except Exception as exc:  # a broken check is a failed sample, not a dead thread
                        ok, latency, detail = False, None, f"check error: {type(exc).__name__}"
                self._sink(Sample(sent, spec.name, ok, latency, spec.critical, detail))
                tick += 1
                now = self._clock.now()
                behind = int((now - start) / self.interval_seconds) + 1
                tick = max(tick, behind)
                self._stop.wait(max(0.0, start + tick * self.interval_seconds - now))
        finally:
            if check is not None:
                check.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._timeout + 2.0)
