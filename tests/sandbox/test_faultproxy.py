"""The fault proxy for real: a proxy process between real TCP servers, switched at run time."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from drills.errors import InputError, SandboxError
from drills.targets.base import Component, NetworkFault
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.processes import Supervisor
from drills.targets.sandbox.proxyctl import FaultProxy, proxied_conninfo
from tests.conftest import private_dir

pytestmark = [pytest.mark.integration]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        prefix: bytes = self.server.prefix  # type: ignore[attr-defined]
        while data := self.request.recv(65536):
            self.request.sendall(prefix + data)


@contextlib.contextmanager
def echo_server(prefix: bytes = b"") -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    server.prefix = prefix  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(tmp_path, Supervisor())
    try:
        yield fault_proxy
    finally:
        fault_proxy.stop()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=2.0)


def roundtrip(sock: socket.socket, data: bytes, timeout: float = 2.0) -> bytes:
    sock.settimeout(timeout)
    sock.sendall(data)
    return sock.recv(65536)


def test_passes_bytes_both_ways_until_told_otherwise(proxy: FaultProxy) -> None:
    with echo_server() as upstream:
        port = proxy.ensure({"echo": upstream})["echo"]
        assert port != upstream
        with connect(port) as sock:
            assert roundtrip(sock, b"hello") == b"hello"
        assert proxy.status()["routes"]["echo"]["fault"] == "none"


def test_blackhole_holds_bytes_and_delivers_them_when_healed(proxy: FaultProxy) -> None:
    with echo_server() as upstream:
        port = proxy.ensure({"echo": upstream})["echo"]
        with connect(port) as before, contextlib.ExitStack() as stack:
            assert roundtrip(before, b"warm") == b"warm"
            proxy.set_fault("echo", NetworkFault.BLACKHOLE)
            with pytest.raises(TimeoutError):
                roundtrip(before, b"held", timeout=0.5)
            during = stack.enter_context(connect(port))  # accepted, then left hanging
            with pytest.raises(TimeoutError):
                roundtrip(during, b"new", timeout=0.3)
            proxy.set_fault("echo", NetworkFault.NONE)
            before.settimeout(2.0)
            assert before.recv(65536) == b"held"  # nothing was lost, only delayed
            during.settimeout(2.0)
            assert during.recv(65536) == b"new"


def test_latency_delays_every_chunk_in_each_direction(proxy: FaultProxy) -> None:
    with echo_server() as upstream:
        port = proxy.ensure({"echo": upstream})["echo"]
        proxy.set_fault("echo", NetworkFault.LATENCY, latency_ms=200)
        with connect(port) as sock:
            started = time.monotonic()
            assert roundtrip(sock, b"slow") == b"slow"
            elapsed = time.monotonic() - started
        assert 0.39 <= elapsed < 1.5
        with pytest.raises(InputError):
            proxy.set_fault("echo", NetworkFault.LATENCY, latency_ms=0)


# A reset shows wherever the RST overtakes the client: on connect, on send (EPIPE after the RST)
# or on the read. A clean end of stream or a timeout is not a reset.
RESET = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def reset_roundtrip(data: bytes, port: int, sock: socket.socket | None = None) -> None:
    """Connect (unless given a socket) and send `data`; must end in a reset, not an answer."""
    with pytest.raises(RESET), contextlib.ExitStack() as stack:
        if sock is None:
            sock = stack.enter_context(connect(port))
        answer = roundtrip(sock, data)
        pytest.fail(f"expected a reset, got an answer {answer!r}")


def test_reset_ends_open_connections_and_refuses_new_ones(proxy: FaultProxy) -> None:
    with echo_server() as upstream:
        port = proxy.ensure({"echo": upstream})["echo"]
        with connect(port) as sock:
            assert roundtrip(sock, b"x") == b"x"
            proxy.set_fault("echo", NetworkFault.RESET)
            reset_roundtrip(b"y", port, sock)
        reset_roundtrip(b"z", port)
        proxy.set_fault("echo", NetworkFault.NONE)
        with connect(port) as healed:
            assert roundtrip(healed, b"ok") == b"ok"


def test_a_server_that_is_down_resets_the_client(proxy: FaultProxy) -> None:
    with echo_server() as upstream:
        pass  # closed again: nobody listens on `upstream` any more
    port = proxy.ensure({"echo": upstream})["echo"]
    with connect(port) as sock, pytest.raises((ConnectionResetError, BrokenPipeError)):
        roundtrip(sock, b"anyone?")


def test_ensure_keeps_ports_and_faults_and_follows_a_moved_server(proxy: FaultProxy) -> None:
    with echo_server(b"a:") as first, echo_server(b"b:") as second:
        port = proxy.ensure({"echo": first})["echo"]
        pid = proxy.pid()
        proxy.set_fault("echo", NetworkFault.LATENCY, latency_ms=50)
        assert proxy.ensure({"echo": second}) == {"echo": port}
        assert proxy.pid() == pid  # updated in place, not restarted
        assert proxy.routes()["echo"].fault is NetworkFault.LATENCY
        with connect(port) as sock:
            assert roundtrip(sock, b"x") == b"b:x"


def test_a_crashed_proxy_is_started_again_on_the_same_port(proxy: FaultProxy) -> None:
    with echo_server() as upstream:
        port = proxy.ensure({"echo": upstream})["echo"]
        pid = proxy.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while proxy.pid() is not None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert proxy.ensure({"echo": upstream}) == {"echo": port}
        assert proxy.pid() not in (None, pid)
        with connect(port) as sock:
            assert roundtrip(sock, b"back") == b"back"


def test_stop_ends_the_process_and_forgets_faults(proxy: FaultProxy) -> None:
    with echo_server() as upstream:
        port = proxy.ensure({"echo": upstream})["echo"]
        proxy.set_fault("echo", NetworkFault.BLACKHOLE)
        proxy.stop()
        assert proxy.pid() is None
        assert proxy.routes()["echo"].fault is NetworkFault.NONE
        with pytest.raises(OSError):
            connect(port).close()
        with pytest.raises(SandboxError):
            proxy.set_fault("nope", NetworkFault.RESET)


def test_proxied_conninfo_rewrites_only_the_ports_the_proxy_fronts() -> None:
    conninfo = (
        "host=127.0.0.1,127.0.0.1 port=5432,5433 dbname=maestro target_session_attrs=read-write"
    )
    params = psycopg.conninfo.conninfo_to_dict(proxied_conninfo(conninfo, {5432: 6000}))
    assert params["port"] == "6000,5433"
    assert params["target_session_attrs"] == "read-write"
    assert params["dbname"] == "maestro"


def test_the_service_reaches_its_databases_through_the_proxy(
    sandbox_target: SandboxTarget,
) -> None:
    target = sandbox_target
    url = target.control_plane_url
    config = json.loads(target.sandbox.layout.service_config.read_text())
    routes = target.network_faults()
    service_ports = psycopg.conninfo.conninfo_to_dict(config["postgres_conninfo"])["port"]
    assert (
        service_ports
        == f"{routes['postgres']['listen_port']},{routes['postgres-standby']['listen_port']}"
    )
    assert f":{routes['redis']['listen_port']}" in config["redis_url"]
    try:
        target.set_network_fault(Component.POSTGRES, NetworkFault.BLACKHOLE)
        response = httpx.get(f"{url}/health", timeout=5.0)
        assert response.status_code == 503
        assert response.json()["failed"] == ["postgres"]
        # The database itself is fine: the harness's direct path still answers.
        with psycopg.connect(target.sandbox.postgres_conninfo(), autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        target.set_network_fault(Component.POSTGRES, NetworkFault.NONE)
    deadline = time.monotonic() + 15
    while httpx.get(f"{url}/health", timeout=5.0).status_code != 200:
        assert time.monotonic() < deadline, "the service did not heal after the path came back"
        time.sleep(0.1)


@pytest.mark.slow
def test_sandbox_down_stops_the_proxy() -> None:
    state_dir = private_dir("drills-test-proxy-")
    target = SandboxTarget(state_dir, supervisor=Supervisor())
    try:
        target.sandbox.up()
        proxy = target.sandbox.fault_proxy()
        assert proxy.pid() is not None
        target.set_network_fault(Component.REDIS, NetworkFault.RESET)
    finally:
        target.sandbox.down()
    assert proxy.pid() is None
    assert all(route.fault is NetworkFault.NONE for route in proxy.routes().values())
    target.sandbox.down(purge=True)
