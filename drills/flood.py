"""A bounded HTTP load generator: the attackers of a traffic flood, or a crowd of slow clients.

Drills need load that is real (it must cost the target CPU and connections the way a flood does) and
safe (it must stop by itself and may only hit servers the harness started). So:

- every target and every source address must be in 127.0.0.0/8, checked before anything is sent;
- hard caps on request count, duration, rate and connections, enforced by the generator itself,
  which also exits when the harness that started it goes away;
- it runs in its own process (`FloodProcess`), so its work never competes with the harness's
  sampler for the GIL: what the sampler measures is the target's latency, not ours;
- a thin HTTP/1.1 keep-alive client on asyncio streams (`drills.controlplane.streams`), because
  the cheaper each attacking request is to send, the more of the 2-core box's CPU goes to the
  target, as in a real flood; over TLS when the control plane is https.

Each connection binds its own source address (round-robin over `sources`), so the target's
per-client rate limit and deny list see several distinct attackers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drills.controlplane import paths
from drills.controlplane.connection import Endpoint
from drills.controlplane.streams import encode_request, open_stream, read_reply_head
from drills.controlplane.trust import TlsTrust
from drills.errors import InputError

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_RATE_PER_SECOND",
    "MAX_REQUESTS",
    "MAX_SECONDS",
    "FloodPlan",
    "FloodProcess",
    "FloodReport",
    "run_flood",
]

MAX_SECONDS = 120.0
MAX_REQUESTS = 1_000_000
MAX_RATE_PER_SECOND = 20_000.0
MAX_CONNECTIONS = 512
REQUEST_TIMEOUT_SECONDS = 5.0
RECONNECT_PAUSE_SECONDS = 0.01


def _loopback(address: str, what: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as exc:
        raise InputError(f"flood {what} {address!r} is not an IP address") from exc
    if not ip.is_loopback:
        raise InputError(f"flood {what} {address} is not a loopback address (127.0.0.0/8, ::1)")
    return address


@dataclass(frozen=True)
class FloodPlan:
    """What to send, from where, and the limits that end it (whichever comes first)."""

    url: str
    path: str = paths.GRAPHQL
    method: str = "POST"
    body: str | None = json.dumps(paths.HEALTH_QUERY)
    sources: tuple[str, ...] = ("127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14")
    connections: int = 64
    requests_per_connection: int = 0  # reconnect after this many (0: keep the connection)
    rate_per_second: float = 2000.0
    max_requests: int = 60_000
    max_seconds: float = 30.0
    ca_bundle: str | None = None  # an https url: the certificates to trust (see TlsTrust)
    insecure: bool = False

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or parts.hostname is None or parts.port is None:
            raise InputError(f"flood url must be http(s)://127.x.x.x:PORT, not {self.url!r}")
        _loopback(parts.hostname, "target")
        if not self.sources:
            raise InputError("flood needs at least one source address")
        for source in self.sources:
            _loopback(source, "source")
        if not self.path.startswith("/"):
            raise InputError(f"flood path must start with '/', not {self.path!r}")
        limits = (
            ("connections", self.connections, 1, MAX_CONNECTIONS),
            ("requests_per_connection", self.requests_per_connection, 0, MAX_REQUESTS),
            ("rate_per_second", self.rate_per_second, 0.1, MAX_RATE_PER_SECOND),
            ("max_requests", self.max_requests, 1, MAX_REQUESTS),
            ("max_seconds", self.max_seconds, 0.1, MAX_SECONDS),
        )
        for name, value, low, high in limits:
            if not (math.isfinite(value) and low <= value <= high):
                raise InputError(f"flood {name} must be in {low}..{high}, got {value}")

    @property
    def endpoint(self) -> Endpoint:
        trust = TlsTrust(None if self.ca_bundle is None else Path(self.ca_bundle), self.insecure)
        return Endpoint(self.url, trust)

    def request_bytes(self) -> bytes:
        return encode_request(self.endpoint, self.method, self.path, self.body, "drills-flood")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = list(self.sources)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FloodPlan:
        values = dict(data)
        values["sources"] = tuple(values.get("sources", ()))
        try:
            return cls(**values)
        except TypeError as exc:
            raise InputError(f"bad flood plan: {exc}") from exc


@dataclass
class FloodReport:
    """What the generator sent and got back."""

    requests: int = 0
    errors: int = 0  # no HTTP answer: refused, reset, timed out
    by_status: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    p95_latency_seconds: float | None = None
    stopped_by: str = "time"  # time | count | signal | parent-gone

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Run:
    def __init__(self, plan: FloodPlan, stop: asyncio.Event) -> None:
        self.plan = plan
        self.stop = stop
        self.endpoint = plan.endpoint
        self.request = plan.request_bytes()
        self.interval = 1.0 / plan.rate_per_second
        self.next_send = 0.0
        self.issued = 0
        self.errors = 0
        self.statuses: Counter[int] = Counter()
        self.latencies: list[float] = []
        self.stopped_by = "time"

    async def _slot(self) -> bool:
        """Wait for the next send slot (no catch-up bursts); False when the flood is over."""
        if self.stop.is_set():
            return False
        if self.issued >= self.plan.max_requests:
            self.stopped_by = "count"
            self.stop.set()
            return False
        self.issued += 1
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(self.next_send, now)
        self.next_send = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)
        return not self.stop.is_set()

    async def worker(self, source: str) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        loop = asyncio.get_running_loop()
        used = 0
        try:
            while await self._slot():
                started = loop.time()
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                        if writer is None:
                            reader, writer = await open_stream(self.endpoint, source)
                            used = 0
                        assert reader is not None
                        writer.write(self.request)
                        status, keep = await read_reply_head(reader)
                    self.statuses[status] += 1
                    self.latencies.append(loop.time() - started)
                    used += 1
                    churn = self.plan.requests_per_connection
                    if not keep or (churn and used >= churn):
                        writer.close()
                        writer = None
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    self.errors += 1
                    if writer is not None:
                        writer.close()
                    writer = None
                    await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
        finally:
            if writer is not None:
                writer.close()

    def report(self, elapsed: float) -> FloodReport:
        ordered = sorted(self.latencies)
        p95 = ordered[math.ceil(0.95 * len(ordered)) - 1] if ordered else None
        return FloodReport(
            requests=sum(self.statuses.values()) + self.errors,
            errors=self.errors,
            by_status={str(k): v for k, v in sorted(self.statuses.items())},
            elapsed_seconds=round(elapsed, 3),
            p95_latency_seconds=None if p95 is None else round(p95, 6),
            stopped_by=self.stopped_by,
        )


async def run_flood(plan: FloodPlan, stop: asyncio.Event | None = None) -> FloodReport:
    """Send the flood until a cap is reached or `stop` is set; never longer than max_seconds."""
    stop = stop or asyncio.Event()
    run = _Run(plan, stop)
    loop = asyncio.get_running_loop()
    started = loop.time()
    run.next_send = started
    parent = os.getppid()

    async def guard() -> None:
        deadline = started + plan.max_seconds
        while not stop.is_set():
            if loop.time() >= deadline:
                stop.set()
                return
            if os.getppid() != parent:
                run.stopped_by = "parent-gone"
                stop.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(0.2, max(0.0, deadline - loop.time())))

    sources = plan.sources
    workers = [
        asyncio.create_task(run.worker(sources[i % len(sources)])) for i in range(plan.connections)
    ]
    await guard()
    # A request in flight when the flood ends gets a moment to answer, then it is dropped.
    _, pending = await asyncio.wait(workers, timeout=1.0)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return run.report(loop.time() - started)


class FloodProcess:
    """A flood in a child process; `stop()` ends it early and returns its report."""

    def __init__(self, plan: FloodPlan, result_path: Path) -> None:
        self.plan = plan
        self.result_path = result_path
        self._child: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None

    def start(self) -> int:
        self.result_path.unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "drills.flood",
            "--plan",
            json.dumps(self.plan.to_json()),
            "--result",
            str(self.result_path),
        ]
        with self.result_path.with_suffix(".log").open("ab") as log:
            self._child = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
        self.started_at = time.monotonic()
        return self._child.pid

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.poll() is None

    def stop(self, timeout_seconds: float = 5.0) -> FloodReport | None:
        """End the flood (SIGTERM, then SIGKILL) and read its report; None if it wrote none."""
        child = self._child
        if child is None:
            return None
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=timeout_seconds)
        try:
            data = json.loads(self.result_path.read_text())
        except (OSError, ValueError):
            return None
        return FloodReport(**data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drills.flood", description="bounded loopback flood")
    parser.add_argument("--plan", required=True, help="the FloodPlan as JSON")
    parser.add_argument("--result", type=Path, required=True, help="where to write the report")
    args = parser.parse_args(argv)
    try:
        plan = FloodPlan.from_json(json.loads(args.plan))
    except (InputError, ValueError) as exc:
        print(f"drills.flood: {exc}", file=sys.stderr)
        return 2

    async def go() -> FloodReport:
        stop = asyncio.Event()
        signalled = False

        def on_signal() -> None:
            nonlocal signalled
            signalled = True
            stop.set()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        report = await run_flood(plan, stop)
        if signalled:
            report.stopped_by = "signal"
        return report

    report = asyncio.run(go())
    tmp = args.result.with_name(f".{args.result.name}.tmp")
    tmp.write_text(json.dumps(report.to_json()))
    tmp.replace(args.result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
