"""The control-plane client against answers written byte for byte: kept connections, every way an
HTTP/1.1 body ends, and every way an answer fails to arrive.

The client writes its requests itself and parses answers with `httptools`; these pin what
`http.client` used to decide for it. The defect that made them: llhttp forgets whether the
connection may be kept once the message is complete, so every answer looked final, every
request opened a new connection, and the replica-pinning loop flooded the service into 429s.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest

from drills.controlplane.connection import Connection, Endpoint
from drills.errors import InputError, ServiceUnreachableError

# the request's head -> the bytes to answer, and whether to keep the connection open after them
Script = Callable[[bytes], tuple[bytes, bool]]


@contextmanager
def scripted(script: Script) -> Iterator[tuple[str, list[int]]]:
    """A loopback server answering each request as `script(request head)` says; yields its URL
    and how many connections it accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve(conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                answer, keep = script(head)
                conn.sendall(answer)
                if not keep:
                    return

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
        listener.close()
        thread.join(timeout=5)


def _ok(body: bytes = b'{"status":"ok"}', extra: bytes = b"") -> tuple[bytes, bool]:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body), True


def _ask(url: str, method: str = "GET", times: int = 1) -> tuple[list[int], list[bytes], bool]:
    conn = Connection(Endpoint(url), 2.0)
    try:
        replies = [conn.request(method, "/health") for _ in range(times)]
        return [r.status for r in replies], [r.content for r in replies], conn.is_open
    finally:
        conn.close()


def test_requests_share_one_kept_connection() -> None:
    with scripted(lambda head: _ok()) as (url, accepted):
        statuses, bodies, still_open = _ask(url, times=3)
    assert statuses == [200, 200, 200] and bodies == [b'{"status":"ok"}'] * 3
    assert still_open and len(accepted) == 1


def test_an_answer_saying_close_ends_the_connection() -> None:
    with scripted(lambda head: _ok(extra=b"connection: close\r\n")) as (url, accepted):
        statuses, _, still_open = _ask(url, times=2)
    assert statuses == [200, 200] and not still_open and len(accepted) == 2


def test_a_chunked_body_is_read_whole() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    with scripted(lambda head: (chunked, True)) as (url, accepted):
        _, bodies, still_open = _ask(url, times=2)
    assert bodies == [b"hello world"] * 2 and still_open and len(accepted) == 1


def test_a_body_without_a_length_ends_with_the_connection() -> None:
    with scripted(lambda head: (b'HTTP/1.1 200 OK\r\n\r\n{"a": 1}', False)) as (url, _):
        statuses, bodies, still_open = _ask(url)
    assert statuses == [200] and bodies == [b'{"a": 1}'] and not still_open


def test_a_head_answer_has_no_body_whatever_its_length_says() -> None:
    answer = (b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n", True)
    with scripted(lambda head: answer) as (url, _):
        statuses, bodies, _ = _ask(url, "HEAD")
    assert statuses == [200] and bodies == [b""]


def test_an_interim_answer_is_followed_by_the_real_one() -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + _ok()[0]
    with scripted(lambda head: (interim, True)) as (url, _):
        statuses, bodies, _ = _ask(url)
    assert statuses == [200] and bodies == [b'{"status":"ok"}']


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"", "RemoteDisconnected"),  # closed before any answer (a dropped kept connection)
        (b'HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{"cut', "IncompleteRead"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "HttpParserError"),  # not HTTP at all
    ],
)
def test_an_answer_that_does_not_arrive_whole_is_an_outage(answer: bytes, reason: str) -> None:
    with scripted(lambda head: (answer, False)) as (url, _):
        conn = Connection(Endpoint(url), 2.0)
        with pytest.raises(ServiceUnreachableError) as caught:
            conn.request("GET", "/health")
    assert caught.value.reason == reason
    assert not conn.is_open


def test_a_request_line_http_cannot_carry_is_refused_before_sending() -> None:
    with scripted(lambda head: _ok()) as (url, accepted):
        conn = Connection(Endpoint(url), 2.0)
        with pytest.raises(InputError, match="not a valid HTTP request line"):
            conn.request("GET", "/health check")
        with pytest.raises(InputError, match="line break"):
            conn.request("GET", "/health", headers={"x-evil": "a\r\nhost: elsewhere"})
    assert accepted == []
