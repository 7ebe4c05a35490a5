"""Raw asyncio connections to the control plane, for the load generator (`drills.flood`).

A flood must cost the target, not the harness: hundreds of connections, thousands of requests a
second, so it runs on asyncio streams with a pre-encoded request instead of `Connection`. What it
shares with every other client is here: each connection binds its own source address (so the
service's per-client rate limit and deny list see distinct attackers), an https endpoint is spoken
over TLS with the endpoint's trust, and the request line and headers are written one way.
"""

from __future__ import annotations

import asyncio

from drills.controlplane.connection import Endpoint

__all__ = ["encode_request", "open_stream", "read_reply_head"]


async def open_stream(
    endpoint: Endpoint, source_address: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A new connection to the endpoint from `source_address` (TLS for https)."""
    context = endpoint.trust.context() if endpoint.secure else None
    return await asyncio.open_connection(
        endpoint.host,
        endpoint.port,
        local_addr=(source_address, 0),
        ssl=context,
        server_hostname=endpoint.host if context is not None else None,
    )


def encode_request(
    endpoint: Endpoint, method: str, path: str, body: str | None, user_agent: str
) -> bytes:
    """One HTTP/1.1 request, keep-alive, JSON body when given."""
    data = (body or "").encode()
    head = [
        f"{method} {endpoint.prefix}{path} HTTP/1.1",
        f"Host: {endpoint.host}:{endpoint.port}",
        f"User-Agent: {user_agent}",
        "Accept: application/json",
    ]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


async def read_reply_head(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive) of one HTTP/1.1 response with a Content-Length body (read and
    dropped)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    keep = True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    if length:
        await reader.readexactly(length)
    return status, keep
