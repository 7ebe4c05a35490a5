"""The timeline sampler: probes every signal of the target on a fixed schedule in the background.

A drill is judged on when the target failed and when it answered again, so the schedule must not
bend to the target: each signal is probed at start + k x interval whether or not earlier probes
of it are still waiting for an answer. A server that freezes (a stuck event loop, a stopped
process, a saturated pool) leaves its probes hanging until their timeout; those probes sit in
flight side by side (bounded: at most `timeout / interval + 2` per signal) while new ones keep
going out on time. Every sample records when it was sent (`t`) and when its outcome was known
(`known`: the answer, the error or the timeout), and `drills.measure` times detection and
recovery from the known instants.

Each in-flight probe runs on its own worker thread with its own connection: a probe costs a
plain keep-alive HTTP request either way (see `drills.controlplane.connection` for why not httpx),
and idle workers cost nothing, so the harness stays inside its CPU budget whether the target is up
or hung. Whether an answer is healthy is `drills.controlplane.health`'s to say.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import psycopg
import redis as redis_client

from drills.clock import RunClock
from drills.controlplane.connection import Connection, Endpoint
from drills.controlplane.health import ask_graphql_health, ask_health, graphql_healthy, healthy
from drills.cypher import GRAPH_QUERY, rows
from drills.errors import ServiceError, ServiceUnreachableError
from drills.models import Sample
from drills.targets.base import SignalKind, SignalSpec

GRAPH_PROBE_KEY = "drills-probe"  # a `RETURN 1` names a graph but creates nothing in it


class Check(Protocol):
    """One probe of one signal: (ok, latency_seconds or None, detail)."""

    def __call__(self) -> tuple[bool, float | None, str | None]: ...

    def close(self) -> None: ...


class HttpCheck:
    """GET returns 2xx (HTTP) or POST { healthCheck } answers true (GraphQL), over http or https."""

    def __init__(self, spec: SignalSpec, clock: RunClock, timeout_seconds: float) -> None:
        parts = urlsplit(spec.address)
        self._path = parts.path or "/"
        self._graphql = spec.kind is SignalKind.GRAPHQL
        self._clock = clock
        self._conn = Connection(
            Endpoint(f"{parts.scheme}://{parts.netloc}", spec.trust),
            timeout_seconds,
            user_agent="drills-sampler",
        )

    def __call__(self) -> tuple[bool, float | None, str | None]:
        started = self._clock.now()
        try:
            if self._graphql:
                reply = ask_graphql_health(self._conn, self._path)
                ok = graphql_healthy(reply)
            else:
                reply = ask_health(self._conn, self._path)
                ok = healthy(reply)
            detail = None if ok else f"HTTP {reply.status}"
        except ServiceUnreachableError as exc:
            ok, detail = False, exc.reason
        except ServiceError as exc:  # a certificate not trusted: failed, and saying why
            ok, detail = False, str(exc)
        return ok, self._clock.now() - started, detail

    def close(self) -> None:
        self._conn.close()


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


class GraphCheck(RedisCheck):
    """A Cypher `RETURN 1` on the graph store (FalkorDB speaks the Redis protocol): the graph
    engine itself answers, not only the server it is loaded into."""

    def __call__(self) -> tuple[bool, float | None, str | None]:
        try:
            # redis-py leaves execute_command untyped; GRAPH.QUERY has no typed method
            reply = self._client.execute_command(  # type: ignore[no-untyped-call]
                GRAPH_QUERY, GRAPH_PROBE_KEY, "RETURN 1"
            )
        except redis_client.RedisError as exc:
            return False, None, type(exc).__name__
        return rows(reply) == [(1,)], None, None


def make_check(spec: SignalSpec, clock: RunClock, timeout_seconds: float) -> Check:
    if spec.kind in (SignalKind.HTTP, SignalKind.GRAPHQL):
        return HttpCheck(spec, clock, timeout_seconds)
    if spec.kind is SignalKind.POSTGRES:
        return PostgresCheck(spec, timeout_seconds)
    if spec.kind is SignalKind.GRAPH:
        return GraphCheck(spec, timeout_seconds)
    return RedisCheck(spec, timeout_seconds)


class Sampler:
    """Samples every signal until stopped; hands each sample to `sink` (timeline, display...).

    `sink` is called from several threads at once and must be thread-safe.
    """

    def __init__(
        self,
        signals: Sequence[SignalSpec],
        clock: RunClock,
        sink: Callable[[Sample], None],
        *,
        interval_seconds: float = 0.1,
        timeout_seconds: float = 0.5,
    ) -> None:
        self.interval_seconds = interval_seconds
        self.timeout_seconds = timeout_seconds
        self.max_in_flight = math.ceil(timeout_seconds / interval_seconds) + 2
        self._stop = threading.Event()
        self._probes = [
            _SignalProbes(
                spec, clock, sink, self._stop, interval_seconds, timeout_seconds, self.max_in_flight
            )
            for spec in signals
        ]

    def start(self) -> None:
        for probes in self._probes:
            probes.start()

    @property
    def skipped(self) -> dict[str, int]:
        """Per signal, the scheduled probes that could not be sent on time (all slots in flight,
        or the harness itself fell behind)."""
        return {p.spec.name: p.skipped for p in self._probes}

    def stop(self) -> None:
        """Stop scheduling; probes in flight finish (at most one timeout) and are recorded."""
        self._stop.set()
        for probes in self._probes:
            probes.join(self.timeout_seconds + 2.0)


class _SignalProbes:
    """The probes of one signal: a scheduler thread and the workers that carry its probes."""

    def __init__(
        self,
        spec: SignalSpec,
        clock: RunClock,
        sink: Callable[[Sample], None],
        stop: threading.Event,
        interval_seconds: float,
        timeout_seconds: float,
        max_in_flight: int,
    ) -> None:
        self.spec = spec
        self.skipped = 0
        self._clock = clock
        self._sink = sink
        self._stop = stop
        self._interval = interval_seconds
        self._timeout = timeout_seconds
        self._limit = max_in_flight
        self._go: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: probe now; False: quit
        self._lock = threading.Lock()
        self._in_flight = 0  # queued or running probes
        self._workers: list[threading.Thread] = []
        self._scheduler = threading.Thread(
            target=self._schedule, name=f"sampler-{spec.name}", daemon=True
        )

    def start(self) -> None:
        self._scheduler.start()

    def _schedule(self) -> None:
        start = self._clock.now()
        tick = 0
        while not self._stop.is_set():
            self._dispatch()
            tick += 1
            now = self._clock.now()
            behind = int((now - start) / self._interval) + 1
            if behind > tick:  # the harness itself fell behind: those ticks are gone
                self.skipped += behind - tick
                tick = behind
            self._stop.wait(max(0.0, start + tick * self._interval - now))

    def _dispatch(self) -> None:
        with self._lock:
            if self._in_flight >= self._limit:
                self.skipped += 1
                return
            self._in_flight += 1
            # at least as many workers as probes in flight: a queued probe never waits for one
            if len(self._workers) < self._in_flight:
                worker = threading.Thread(
                    target=self._work,
                    name=f"sampler-{self.spec.name}-{len(self._workers)}",
                    daemon=True,
                )
                self._workers.append(worker)
                worker.start()
        self._go.put(True)

    def _work(self) -> None:
        check: Check | None = None
        broken = ""
        try:
            check = make_check(self.spec, self._clock, self._timeout)
        except Exception as exc:  # e.g. an address it cannot use: every sample says so
            broken = f"cannot check: {exc}"
        try:
            while self._go.get():
                self._probe_once(check, broken)
        finally:
            if check is not None:
                check.close()

    def _probe_once(self, check: Check | None, broken: str) -> None:
        sent = self._clock.now()
        detail: str | None
        if check is None:
            ok, latency, detail = False, None, broken
        else:
            try:
                ok, latency, detail = check()
            except Exception as exc:  # a broken check is a failed sample, not a dead worker
                ok, latency, detail = False, None, f"check error: {type(exc).__name__}"
        known = self._clock.now()
        spec = self.spec
        try:
            self._sink(Sample(sent, spec.name, ok, latency, spec.critical, detail, known))
        finally:
            with self._lock:
                self._in_flight -= 1

    def join(self, timeout_seconds: float) -> None:
        self._scheduler.join(timeout=timeout_seconds)
        with self._lock:
            workers = list(self._workers)
        for _ in workers:
            self._go.put(False)
        for worker in workers:
            worker.join(timeout=timeout_seconds)
