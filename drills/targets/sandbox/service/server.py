"""Runs one replica: binds the shared address, serves with uvicorn, stops cleanly on SIGTERM.

Replicas are separate OS processes that each bind the same host:port with SO_REUSEPORT, so the
kernel spreads new connections across whichever replicas are alive: the harness can scale the
deployment to N or 0 and kill -9 any replica, and the address keeps answering while one lives.
A replica may also listen on a port of its own (`metrics_port`), served by the same app and event
loop: Prometheus scrapes each replica there, as it scrapes each pod on Kubernetes, and a hung
replica fails its scrape as it fails its requests.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from types import FrameType

import uvicorn

from drills.targets.sandbox.service.app import build_app
from drills.targets.sandbox.service.config import ServiceConfig

__all__ = ["bind_socket", "serve"]

log = logging.getLogger(__name__)

LISTEN_BACKLOG = 1024
GRACEFUL_SHUTDOWN_SECONDS = 2


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port that other replicas may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def configure_logging(replica: int) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"%(asctime)s replica={replica} %(levelname)s %(name)s: %(message)s",
    )
    # psycopg_pool logs every checkout at INFO; keep its warnings (failed connects) only.
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    # uvicorn handles SIGTERM while serving and re-raises it after its graceful shutdown; this
    # handler then makes the finished replica exit 0 (and ends one that is still starting).
    raise SystemExit(0)


def serve(config: ServiceConfig, replica: int, metrics_port: int | None = None) -> int:
    """Serve until SIGTERM/SIGINT; returns the process exit code."""
    configure_logging(replica)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    app = build_app(config, replica)  # raises InputError before anything is bound
    try:
        sock = bind_socket(config.host, config.port)
    except OSError as exc:
        log.error("cannot bind %s:%d: %s", config.host, config.port, exc)
        return 1
    sockets = [sock]
    if metrics_port is not None:
        try:
            sockets.append(_own_socket(config.host, metrics_port))
        except OSError as exc:
            sock.close()
            log.error("cannot bind metrics port %s:%d: %s", config.host, metrics_port, exc)
            return 1
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan="on",
            access_log=False,
            log_config=None,
            loop="asyncio",
            http="h11",
            ws="none",
            server_header=False,
            # The client address is the TCP peer. uvicorn would otherwise believe
            # X-Forwarded-For from 127.0.0.1, and anyone on the machine could dodge the rate
            # limit and the deny list by rotating that header.
            proxy_headers=False,
            forwarded_allow_ips="",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            ssl_certfile=config.tls_certfile,
            ssl_keyfile=config.tls_keyfile,
        )
    )
    scheme = "https" if config.tls_certfile else "http"
    log.info("replica %d serving %s on %s:%d", replica, scheme, *sock.getsockname()[:2])
    if metrics_port is not None:
        log.info("replica %d metrics on %s:%d", replica, config.host, metrics_port)
    try:
        asyncio.run(server.serve(sockets=sockets))
    finally:
        for each in sockets:
            each.close()
    return 0


def _own_socket(host: str, port: int) -> socket.socket:
    """A listening socket this replica alone binds (no SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock
