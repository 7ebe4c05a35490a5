"""The replica's listening socket: shareable by every replica, and without Nagle delays."""

from __future__ import annotations

import socket

from drills.targets.sandbox.service.server import bind_socket


def test_replicas_can_bind_the_same_port() -> None:
    first = bind_socket("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        second = bind_socket("127.0.0.1", port)
        try:
            assert second.getsockname() == first.getsockname()
            assert second.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        finally:
            second.close()
    finally:
        first.close()


def test_socket_is_declared_tcp_so_asyncio_disables_nagle() -> None:
    # asyncio sets TCP_NODELAY on accepted connections only when proto is IPPROTO_TCP; with
    # proto 0 every keep-alive answer waited ~40 ms for the client's delayed ACK.
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
