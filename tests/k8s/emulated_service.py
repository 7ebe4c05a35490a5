"""The staging control plane's runbook endpoints, answering as the emulated cluster's pods allow.

A drill's sampler, canary, probes and actions talk to this service over real HTTP on loopback,
exactly as they would to the Service of a staging cluster. It is healthy only while the
`ClusterEmulator` says the system is whole (a control-plane pod Ready, the database and Redis
Ready and reachable); a circuit breaker is open while its store is down. Canary records and
business runs live in memory, like a database that survives pod restarts, or, given `database`
(a conninfo), in that real PostgreSQL (`tests/k8s/service_data.py`). Every request is
counted by (method, path) and by source address, so a test can prove that a dry run sent no write
and no flood.

A flood: requests from any address but the harness's own (127.0.0.1) count as foreign; while
`FLOOD_REQUESTS` of them arrived in the last `FLOOD_WINDOW` seconds, the service is out of
capacity (503 to everybody; one more part of the emulator's truth). Requests from addresses a
drills NetworkPolicy blocks get no answer, as when the CNI drops their packets.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.k8s.cluster_emulator import ClusterEmulator
from tests.k8s.service_data import DataUnavailable, MemoryData, PostgresData, ServiceData

HARNESS = "127.0.0.1"
BLACKHOLE_SECONDS = 10.0
FLOOD_REQUESTS = 100
FLOOD_WINDOW = 0.3
READ_PATHS = frozenset(  # what a probe reads
    {"/health", "/api/resilience/health", "/api/resilience/circuit-breakers",
     "/api/resilience/metrics", "/api/monitoring/databases", "/metrics"}
)  # fmt: skip


@dataclass
class Breaker:
    """A circuit breaker of one replica (pybreaker's rules): `fail_max` failed calls open it;
    after `reset_timeout` it is HALF-OPEN and a trial call closes or re-opens it. The one trial
    is the replica's background dependency probe, at least `trial_delay` after it half-opened
    (a probe period; without it a probe that opened the breaker would always re-open it at the
    very instant it half-opens); requests meanwhile are rejected, as while OPEN.
    """

    fail_max: int = 3
    reset_timeout: float = 1.0
    state: str = "closed"
    fail_counter: int = 0
    opened_at: float = 0.0
    trial_delay: float = 0.25

    def current(self) -> str:
        if self.state == "open" and time.monotonic() - self.opened_at >= self.reset_timeout:
            self.state = "half-open"
        return self.state

    def call(self, dependency_up: bool, *, trial: bool) -> None:
        state = self.current()
        half_open_for = time.monotonic() - self.opened_at - self.reset_timeout
        if state == "open" or (
            state == "half-open" and not (trial and half_open_for >= self.trial_delay)
        ):
            return  # rejected without trying
        if dependency_up:
            self.state, self.fail_counter = "closed", 0
            return
        self.fail_counter += 1
        if state == "half-open" or self.fail_counter >= self.fail_max:
            self.state, self.opened_at = "open", time.monotonic()

    def reset(self) -> None:
        self.state, self.fail_counter = "closed", 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.current(),
            "fail_counter": self.fail_counter,
            "fail_max": self.fail_max,
            "reset_timeout_seconds": self.reset_timeout,
        }


class EmulatedService:
    """Start with the emulator; `url` is the profile's `services.control_plane`."""

    def __init__(self, emulator: ClusterEmulator, database: str | None = None) -> None:
        self.emulator = emulator
        self.requests: Counter[tuple[str, str]] = Counter()
        self.clients: Counter[str] = Counter()  # requests by source address
        self.data: ServiceData = MemoryData() if database is None else PostgresData(database)
        self.breakers: dict[str, dict[str, Breaker]] = {}  # replica -> dependency -> breaker
        self._lock = threading.Lock()
        self._turn = itertools.count()
        self._stop = threading.Event()
        self._foreign: deque[float] = deque()
        emulator.checks["capacity"] = lambda: not self.overloaded()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a connection stays on one replica
            replica: str | None = None

            def do_GET(self) -> None:
                service.answer(self, "GET")

            def do_POST(self) -> None:
                service.answer(self, "POST")

            def log_message(self, *args: object) -> None:
                return None

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.blocked = lambda address: address in self.emulator.blocked
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._prober = threading.Thread(target=self._probe_forever, daemon=True)
        self._prober.start()

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._prober.join(2)
        self.data.close()

    def _probe_forever(self) -> None:
        """Each replica checks its dependencies in the background, through its breakers."""
        while not self._stop.wait(0.5):
            self._call_through_breakers(list(self.emulator.ready_control_plane), trial=True)

    def _call_through_breakers(self, replicas: list[str], *, trial: bool) -> None:
        parts = dict(self.emulator.parts)
        with self._lock:
            for replica in replicas:
                for name, breaker in self._breakers_of(replica).items():
                    breaker.call(parts.get(name, False), trial=trial)

    @property
    def stores(self) -> tuple[str, ...]:
        """The databases the service uses: the graph store too when the cluster runs one."""
        return ("postgres", "redis", *(("neo4j",) if self.emulator.neo4j else ()))

    def _breakers_of(self, replica: str) -> dict[str, Breaker]:
        return self.breakers.setdefault(replica, {name: Breaker() for name in self.stores})

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every request that is not a read of health or state (a POST
        /graphql is a read only as the steady state's one `{ healthCheck }`: at most 3)."""
        with self._lock:
            return [
                key
                for key, count in self.requests.items()
                if key[1] not in READ_PATHS and not (key == ("POST", "/graphql") and count <= 3)
            ]

    # -- answering ---------------------------------------------------------------------------

    def overloaded(self) -> bool:
        """Too many foreign requests lately (see the module docstring)."""
        horizon = time.monotonic() - FLOOD_WINDOW
        with self._lock:
            while self._foreign and self._foreign[0] < horizon:
                self._foreign.popleft()
            return len(self._foreign) >= FLOOD_REQUESTS

    def answer(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("content-length") or 0)
        raw = request.rfile.read(length) if length else b""
        source = request.client_address[0]
        with self._lock:
            self.requests[method, url.path] += 1
            self.clients[source] += 1
        if source in self.emulator.blocked:  # dropped by the CNI: the request just hangs
            self._stop.wait(BLACKHOLE_SECONDS)
            request.close_connection = True
            return
        if source != HARNESS:
            with self._lock:
                self._foreign.append(time.monotonic())
        parts = dict(self.emulator.parts)
        if not parts.get("capacity", True):
            _send(request, 503, {"error": "overloaded"})
            return
        pods = list(self.emulator.ready_control_plane)
        if not pods:
            request.close_connection = True
            _send(request, 503, {"error": "no ready control-plane pod behind the Service"})
            return
        replica = getattr(request, "replica", None)
        if replica is None:  # a new connection: the Service picks a pod
            replica = pods[next(self._turn) % len(pods)]
            request.replica = replica  # type: ignore[attr-defined]
        elif replica not in pods:  # its pod is shutting down: one last answer, then close
            request.close_connection = True
        status, body = self._route(method, url.path, parse_qs(url.query), raw, parts, replica)
        _send(request, status, body)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        raw: bytes,
        parts: dict[str, bool],
        replica: str,
    ) -> tuple[int, Any]:
        stores_up = all(parts.get(name, False) for name in self.stores)
        if path in ("/health", "/graphql", "/api/records", "/api/runs"):
            self._call_through_breakers([replica], trial=False)
        with self._lock:
            breakers = {name: b.snapshot() for name, b in self._breakers_of(replica).items()}
        if (method, path) == ("GET", "/health"):
            body = {"status": "ok" if stores_up else "unhealthy", "replica": replica}
            return (200 if stores_up else 503), body
        if (method, path) == ("POST", "/graphql"):
            return (200, {"data": {"healthCheck": True}}) if stores_up else (503, {"errors": []})
        if (method, path) == ("GET", "/api/resilience/circuit-breakers"):
            return 200, breakers
        if method == "POST" and path.startswith("/api/resilience/circuit-breakers/"):
            name = path.split("/")[-2]
            with self._lock:
                breaker = self._breakers_of(replica).get(name)
                if breaker is None:
                    return 404, {"error": "unknown circuit breaker", "name": name}
                breaker.reset()
                return 200, {"name": name, "reset": True, "replica": replica, **breaker.snapshot()}
        if (method, path) == ("GET", "/api/resilience/health"):
            closed = all(b["state"] == "closed" for b in breakers.values())
            body = {"status": "healthy" if closed else "degraded", "replica": replica}
            return (200 if closed else 503), body
        if (method, path) == ("GET", "/api/resilience/metrics"):
            return 200, {"replica": replica, "resilience": _metrics(breakers)}
        if (method, path) == ("GET", "/api/monitoring/databases"):
            return (200 if stores_up else 503), {
                "replica": replica,
                **{name: {"up": parts.get(name, False)} for name in self.stores},
            }
        if path == "/api/records":
            return self._records(method, query, raw, stores_up)
        if path == "/api/runs":
            return self._runs(method, raw, stores_up)
        return 404, {"error": "not found", "path": path}

    def _records(
        self, method: str, query: dict[str, list[str]], raw: bytes, up: bool
    ) -> tuple[int, Any]:
        if not up:
            return 503, {"error": "postgres unavailable"}
        try:
            if method == "POST":
                record = json.loads(raw)
                duplicate = self.data.add_record(record)
                return 201, {
                    "stream": record["stream"],
                    "seq": record["seq"],
                    "duplicate": duplicate,
                }
            stream = (query.get("stream") or [""])[0]
            after = int((query.get("after") or ["-1"])[0])
            limit = int((query.get("limit") or ["1000"])[0])
            return 200, self.data.records(stream, after, limit)
        except DataUnavailable as exc:
            return 503, {"error": f"postgres unavailable: {exc}"}

    def _runs(self, method: str, raw: bytes, up: bool) -> tuple[int, Any]:
        if not up:
            return 503, {"error": "postgres unavailable"}
        try:
            if method == "POST":
                run = json.loads(raw)
                return 201, self.data.add_run(str(run.get("name")), str(run.get("status")))
            return 200, {"runs": self.data.runs(5000), "next": None}
        except DataUnavailable as exc:
            return 503, {"error": f"postgres unavailable: {exc}"}


class _Server(ThreadingHTTPServer):
    """Connections from blocked addresses are parked unanswered, costing no thread or CPU."""

    request_queue_size = 1024  # a flood's connections must not crowd out the sampler's SYNs
    daemon_threads = True
    blocked: Callable[[str], bool] = staticmethod(lambda address: False)
    parked: list[socket.socket]

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.blocked(client_address[0]):
            self.parked = [*getattr(self, "parked", []), request][-2048:]
            return False
        return True

    def shutdown_request(self, request: Any) -> None:
        if request in getattr(self, "parked", []):
            return  # kept open, unanswered, until the server closes
        super().shutdown_request(request)

    def server_close(self) -> None:
        for sock in getattr(self, "parked", []):
            sock.close()
        super().server_close()


def _metrics(breakers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "breakers": breakers,
        "pool": {"in_use": 1, "capacity": 20},
        "rate_limit": {"limit": "100/second", "rejected_total": 0, "denied_total": 0, "deny": []},
        "maintenance": False,
        "maintenance_rejected_total": 0,
        "redis_counter_failures_total": 0,
        "requests_total": 0,
        "errors_total": 0,
    }


def _send(request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("content-type", "application/json")
    request.send_header("content-length", str(len(data)))
    if request.close_connection:
        request.send_header("connection", "close")
    request.end_headers()
    request.wfile.write(data)
