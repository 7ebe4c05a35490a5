"""Listening ports stay outside the kernel's ephemeral range.

A sandbox component restarted after kill -9 binds its old port again. Outgoing connections (the
canary, the sampler, the service's own pools) take their local ports from the ephemeral range, and a
client socket holding the dead server's port, open or in TIME_WAIT, makes the restart fail with
EADDRINUSE; CI saw Redis stay down for the rest of a run that way. Ports the kernel never hands to
a connect() cannot be taken like that.
"""

from __future__ import annotations

import socket

from drills.targets.sandbox.state import allocate_ports, ephemeral_range, free_port


def test_free_ports_are_never_ones_the_kernel_gives_outgoing_connections() -> None:
    low, high = ephemeral_range()
    ports = [free_port() for _ in range(200)]
    assert all(not low <= port <= high for port in ports), sorted(ports)[:10]
    assert all(1024 < port < 65536 for port in ports)


def test_a_free_port_can_be_bound_and_sandbox_ports_differ() -> None:
    ports = allocate_ports()
    assert len(set(ports.values())) == len(ports)
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
