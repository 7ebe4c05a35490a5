"""The sandbox's network between the service and its databases: a TCP fault proxy.

On Kubernetes a drill breaks the path from the application to PostgreSQL with a network policy or a
chaos mesh fault while the database itself stays healthy. The sandbox has no such network, so the
service reaches PostgreSQL and Redis through this proxy (one process, one loopback listener per
proxied server) and a drill switches a route's mode at run time:

- `none`: bytes pass through untouched;
- `blackhole`: a partition. Nothing is forwarded and nothing answered; bytes already sent wait (the
  proxy stops reading, so TCP holds them) and flow on when the route heals, as after a real
  partition shorter than TCP's own timeout. New connections are accepted and left hanging;
- `latency`: every chunk is delivered `latency_ms` later, in each direction, order kept;
- `reset`: every open connection is reset (RST) at once, and every new one as soon as it arrives.

The harness (`proxyctl`) writes the control file; this process polls it, applies a new generation
and then publishes that generation in its status file, which is how the harness knows a fault is in
force before it returns. Run as `python -m drills.targets.sandbox.faultproxy --control C --status S`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.errors import InputError
from drills.targets.base import NetworkFault

__all__ = ["Route", "RouteTable", "main", "read_routes", "write_json_atomic"]

log = logging.getLogger("drills.faultproxy")

POLL_SECONDS = 0.02
CHUNK_BYTES = 65536
UPSTREAM_CONNECT_SECONDS = 5.0
STATUS_REFRESH_SECONDS = 0.5
MAX_LATENCY_MS = 60_000


@dataclass(frozen=True)
class Route:
    """One proxied server: where the proxy listens, where it forwards, and the fault in force."""

    name: str
    listen_port: int
    upstream_port: int
    fault: NetworkFault = NetworkFault.NONE
    latency_ms: int = 0
    upstream_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if not 0 <= self.latency_ms <= MAX_LATENCY_MS:
            raise InputError(f"route {self.name}: latency_ms must be in 0..{MAX_LATENCY_MS}")

    @property
    def delay_seconds(self) -> float:
        return self.latency_ms / 1000.0 if self.fault is NetworkFault.LATENCY else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "listen_port": self.listen_port,
            "upstream_port": self.upstream_port,
            "upstream_host": self.upstream_host,
            "fault": self.fault.value,
            "latency_ms": self.latency_ms,
        }

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> Route:
        try:
            return cls(
                name=name,
                listen_port=int(data["listen_port"]),
                upstream_port=int(data["upstream_port"]),
                fault=NetworkFault(data.get("fault", "none")),
                latency_ms=int(data.get("latency_ms", 0)),
                upstream_host=str(data.get("upstream_host", "127.0.0.1")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"fault proxy route {name!r} is malformed: {exc}") from exc


def read_routes(data: dict[str, Any]) -> tuple[int, dict[str, Route]]:
    """(generation, routes) from a decoded control file."""
    routes = data.get("routes")
    if not isinstance(routes, dict):
        raise InputError("fault proxy control file: 'routes' must be a mapping")
    return int(data.get("generation", 0)), {
        name: Route.from_json(name, spec) for name, spec in routes.items()
    }


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` atomically: readers never see a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # no torn temp file left behind (a full disk)
        raise


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), not FIN: what a reset fault shows the other side."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Link:
    """One proxied connection: the client's side and, once connected, the upstream side."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None

    def reset(self) -> None:
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)


class RouteTable:
    """The live state of one route: its settings, its connections, and a wake-up on change."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.links: set[_Link] = set()
        self.accepted_total = 0
        self._changed = asyncio.Event()

    def apply(self, route: Route) -> None:
        self.route = route
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        if route.fault is NetworkFault.RESET:
            for link in list(self.links):
                link.reset()

    async def passable(self) -> bool:
        """Wait while the route is a blackhole; False when it resets instead."""
        while self.route.fault is NetworkFault.BLACKHOLE:
            await self._changed.wait()
        return self.route.fault is not NetworkFault.RESET

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted_total += 1
        link = _Link(writer)
        self.links.add(link)
        try:
            if not await self.passable():
                link.reset()
                return
            route = self.route
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(route.upstream_host, route.upstream_port),
                    UPSTREAM_CONNECT_SECONDS,
                )
            except (OSError, TimeoutError):
                link.reset()  # the server is down: the client learns at once, as with a refusal
                return
            link.upstream = up_writer
            await asyncio.gather(
                self._pump(reader, up_writer, link), self._pump(up_reader, writer, link)
            )
        finally:
            self.links.discard(link)
            for side in (writer, link.upstream):
                if side is not None and not side.transport.is_closing():
                    side.close()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link
    ) -> None:
        """Copy one direction; hold bytes during a blackhole, delay them under latency."""
        pending: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=256)
        writer = asyncio.create_task(self._deliver(pending, sink))
        try:
            while True:
                try:
                    data = await source.read(CHUNK_BYTES)
                except OSError:
                    data = b""
                if data and not await self.passable():
                    link.reset()
                    return
                loop = asyncio.get_running_loop()
                await pending.put((loop.time() + self.route.delay_seconds, data))
                if not data:
                    break
            await writer
        finally:
            if not writer.done():
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer

    async def _deliver(
        self, pending: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await pending.get()
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.route.fault is NetworkFault.RESET:
                return
            try:
                if not data:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                sink.write(data)
                await sink.drain()
            except OSError:
                return


class Proxy:
    """Every route's listener plus the control-file watcher."""

    def __init__(self, control: Path, status: Path) -> None:
        self.control = control
        self.status = status
        self.tables: dict[str, RouteTable] = {}
        self.servers: list[asyncio.Server] = []
        self.generation = -1
        self._stamp: tuple[int, int] | None = None
        self._written: dict[str, Any] | None = None

    def _load(self) -> tuple[int, dict[str, Route]] | None:
        try:
            stat = self.control.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._stamp:
                return None
            data = json.loads(self.control.read_text())
            self._stamp = stamp
            return read_routes(data)
        except (OSError, ValueError, InputError) as exc:
            log.warning("control file %s not applied: %s", self.control, exc)
            self._stamp = None
            return None

    async def start(self) -> None:
        loaded = self._load()
        if loaded is None:
            raise InputError(f"fault proxy: cannot read the control file {self.control}")
        generation, routes = loaded
        for name, route in routes.items():
            table = RouteTable(route)
            self.tables[name] = table
            server = await asyncio.start_server(
                table.handle, "127.0.0.1", route.listen_port, reuse_address=True
            )
            self.servers.append(server)
            log.info("route %s: 127.0.0.1:%d -> %s", name, route.listen_port, route.upstream_port)
        self.generation = generation
        self.write_status()

    def apply(self, generation: int, routes: dict[str, Route]) -> None:
        for name, route in routes.items():
            table = self.tables.get(name)
            if table is None:
                log.warning("route %s is new; restart the proxy to listen for it", name)
                continue
            if route.listen_port != table.route.listen_port:
                log.warning("route %s: a new listen port needs a proxy restart", name)
            if route != table.route:
                log.info("route %s: %s %d ms", name, route.fault.value, route.latency_ms)
            table.apply(route)
        self.generation = generation
        self.write_status()

    def write_status(self) -> None:
        """Publish the applied generation and each route's state (only when it changed)."""
        status = {
            "pid": os.getpid(),
            "generation": self.generation,
            "routes": {
                name: {
                    **table.route.to_json(),
                    "connections": len(table.links),
                    "accepted_total": table.accepted_total,
                }
                for name, table in self.tables.items()
            },
        }
        if status != self._written:
            write_json_atomic(self.status, status)
            self._written = status

    async def watch(self, stop: asyncio.Event) -> None:
        last_status = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(POLL_SECONDS)
            loaded = self._load()
            if loaded is not None:
                self.apply(*loaded)
                last_status = time.monotonic()
            elif time.monotonic() - last_status > STATUS_REFRESH_SECONDS:
                self.write_status()
                last_status = time.monotonic()

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for table in self.tables.values():
            for link in list(table.links):
                link.reset()


async def _serve(control: Path, status: Path) -> None:
    proxy = Proxy(control, status)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await proxy.start()
    try:
        await proxy.watch(stop)
    finally:
        await proxy.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faultproxy", description=__doc__.splitlines()[0])
    parser.add_argument("--control", type=Path, required=True, help="control file (JSON)")
    parser.add_argument("--status", type=Path, required=True, help="status file this writes")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s faultproxy %(message)s"
    )
    try:
        asyncio.run(_serve(args.control, args.status))
    except (InputError, OSError) as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
