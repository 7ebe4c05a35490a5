"""HTTP/1.1 to the control plane: where it is, one connection to it, and what it answered.

The canary sends 100 requests a second and the sampler 20 more, for the whole drill, inside a CPU
budget of 10 % of one core for the harness. Paced as a drill paces them (one every 10 ms, the CPU
idle in between, so each request runs on cold caches), a canary write costs about 0.55 ms of CPU
through the standard library's `http.client` (its header parsing is pure Python; `httpx` costs
more still) and about 0.27 ms written in one `sendall` with the answer parsed by `httptools`
(llhttp, the parser uvicorn uses: chunked bodies, keep-alive and malformed answers are its job);
`python -m benchmarks.request_cost` measures both. So this is a thin client: one socket, the
request line and headers formatted here, the answer parsed there.

It is also the one boundary between the control plane and the rest of drills: an `https://` URL is
spoken over TLS with the endpoint's `TlsTrust` (a context built once per process), transport errors
become `ServiceUnreachableError` (an outage: no HTTP answer) or `ServiceTlsError` (a certificate the
harness does not trust: a configuration problem, never an outage), and JSON is decoded here.
"""

from __future__ import annotations

import functools
import json
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import httptools

from drills.controlplane.trust import SYSTEM_TRUST, TlsTrust
from drills.errors import InputError, ServiceAnswerError, ServiceTlsError, ServiceUnreachableError

__all__ = ["Connection", "Endpoint", "HasControlPlane", "Reply", "ask_fresh"]

# A TLS connection that the server closes while we read is the server going away (an outage);
# every other TLS failure is the harness and the server disagreeing about TLS itself.
_CUT_OFF = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
_READ_SIZE = 65536
_NOT_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")  # what a request line cannot carry (as http.client)
_NOT_IN_HEADER = re.compile(r"[\r\n\x00]")
_NO_BODY_STATUS = (204, 304)


class HasControlPlane(Protocol):
    """What `Endpoint.of` needs of a target."""

    @property
    def control_plane_url(self) -> str: ...

    @property
    def control_plane_tls(self) -> TlsTrust: ...


@dataclass(frozen=True)
class Endpoint:
    """The control plane's base URL (http or https, maybe with a path prefix) and its TLS trust."""

    url: str
    trust: TlsTrust = SYSTEM_TRUST

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"only http:// and https:// URLs are supported, not {self.url!r}")
        try:
            parts.port  # noqa: B018 - a malformed port raises here, not on the first request
        except ValueError as exc:
            raise InputError(f"bad port in {self.url!r}: {exc}") from None

    @classmethod
    def of(cls, target: HasControlPlane) -> Endpoint:
        return cls(target.control_plane_url, target.control_plane_tls)

    @property
    def secure(self) -> bool:
        return self.url.startswith("https:")

    @property
    def host(self) -> str:
        return str(urlsplit(self.url).hostname)

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (443 if self.secure else 80)

    @property
    def prefix(self) -> str:
        """The base URL's own path, which every request path follows."""
        return urlsplit(self.url).path.rstrip("/")

    def describe(self) -> str:
        """The URL, and for https which certificates are trusted."""
        return f"{self.url} (trusting {self.trust.describe()})" if self.secure else self.url


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: its status and body; the body decoded on demand."""

    status: int
    content: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The decoded body; `ServiceAnswerError` when it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise ServiceAnswerError(f"HTTP {self.status}: the answer is not JSON") from exc

    @functools.cached_property
    def body(self) -> dict[str, Any]:
        """The body as a JSON object: `{}` when it is not JSON, `{"value": ...}` when not an object."""
        try:
            value = json.loads(self.content) if self.content else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {"value": value}

    @property
    def replica(self) -> str | None:
        """Which replica answered (the sandbox service says; None when the body does not)."""
        value = self.body.get("replica")
        return None if value is None else str(value)


class _Answer:
    """The parser's callbacks for one response: its body, and where parsing got to."""

    __slots__ = ("body", "complete", "delimited", "headers_done", "keep_alive", "parser", "started")

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.started = self.headers_done = self.complete = self.delimited = False
        self.keep_alive = False
        self.parser = httptools.HttpResponseParser(self)

    def on_message_begin(self) -> None:  # again after a 1xx interim answer: start afresh
        self.body.clear()
        self.started, self.headers_done, self.complete, self.delimited = True, False, False, False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.delimited = True

    def on_headers_complete(self) -> None:
        self.headers_done = True
        # llhttp forgets it once the message is complete: ask while it knows
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        # an interim answer (100 Continue, 103 Early Hints) is followed by the real one
        self.complete = self.parser.get_status_code() >= 200


class _CutOff(OSError):
    """The server closed the connection before its answer was complete."""


class RemoteDisconnected(_CutOff):
    """Closed before any answer (e.g. a keep-alive connection the server had already dropped)."""


class IncompleteRead(_CutOff):
    """Closed in the middle of an answer."""


class Connection:
    """One persistent connection to the endpoint; reconnects on the next request after any failure.

    `source_address` binds the local end (a loopback address of its own, so the service's
    per-client rate limit and deny list see a distinct client).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        timeout_seconds: float,
        *,
        user_agent: str = "drills",
        source_address: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._timeout = timeout_seconds
        self._source = None if source_address is None else (source_address, 0)
        self._prefix = endpoint.prefix
        self._headers = {"user-agent": user_agent, "accept": "application/json"}
        self._address = (endpoint.host, endpoint.port)  # parsed once, not at every reconnect
        host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
        default_port = 443 if endpoint.secure else 80
        self._host = host if endpoint.port == default_port else f"{host}:{endpoint.port}"
        self._sock: socket.socket | None = None

    @property
    def is_open(self) -> bool:
        """Whether the next request reuses the current connection (keep-alive)."""
        return self._sock is not None

    def _connect(self) -> socket.socket:
        endpoint = self.endpoint
        sock = socket.create_connection(
            self._address, timeout=self._timeout, source_address=self._source
        )
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if endpoint.secure:
                return endpoint.trust.context().wrap_socket(sock, server_hostname=self._address[0])
        except BaseException:
            sock.close()
            raise
        return sock

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        query: Mapping[str, str | int] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request; its `Reply`, or a `ServiceError`. Never retries: a failure is data.

        `payload` is sent as JSON; `content` as it is, with the caller's `headers` (a request
        replayed as a person wrote it, e.g. the training shell's curl)."""
        sent = dict(self._headers) | {k.lower(): v for k, v in (headers or {}).items()}
        body: bytes | None = content
        if payload is not None:
            body = json.dumps(payload, separators=(",", ":")).encode()
            sent["content-type"] = "application/json"
        target = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        message = self._message(method, target, sent, body)
        try:
            if self._sock is None:
                self._sock = self._connect()
            self._sock.sendall(message)
            status, data, keep_alive = self._answer(self._sock, method)
            if not keep_alive:
                self.close()
            return Reply(status, data)
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise ServiceTlsError(
                f"{self.endpoint.url}: TLS certificate not trusted ({exc.verify_message}); "
                f"trusting {self.endpoint.trust.describe()}"
            ) from None
        except ssl.SSLError as exc:
            self.close()
            if isinstance(exc, _CUT_OFF):
                raise ServiceUnreachableError(
                    f"{method} {path}: no answer ({type(exc).__name__})", type(exc).__name__
                ) from exc
            raise ServiceTlsError(
                f"{self.endpoint.url}: TLS handshake failed ({exc.reason or exc}); "
                "is it an https server?"
            ) from None
        except (OSError, httptools.HttpParserError) as exc:
            self.close()
            raise ServiceUnreachableError(
                f"{method} {path}: no answer ({type(exc).__name__})", type(exc).__name__
            ) from exc

    def _message(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> bytes:
        """The request as it goes on the wire: request line, headers, body; `InputError` for a
        method, target or header that HTTP cannot carry (a request that would be another one)."""
        if not method.isalpha() or _NOT_IN_TARGET.search(target):
            raise InputError(f"cannot send {method!r} {target!r}: not a valid HTTP request line")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        lines = [f"{method} {target} HTTP/1.1"]
        if "host" not in headers:
            lines.append(f"host: {self._host}")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines.append(f"content-length: {len(body)}")
        if _NOT_IN_HEADER.search("".join(lines[1:])):
            raise InputError(f"cannot send {method} {target}: a header holds a line break")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:
            raise InputError(f"cannot send {method} {target}: a header is not Latin-1") from None
        return head if body is None else head + body

    @staticmethod
    def _answer(sock: socket.socket, method: str) -> tuple[int, bytes, bool]:
        """Read one answer: (status, body, whether the connection may be kept)."""
        answer = _Answer()
        parser = answer.parser
        while True:
            data = sock.recv(_READ_SIZE)
            if not data:
                status = parser.get_status_code() if answer.headers_done else 0
                if answer.headers_done and not answer.delimited and status not in _NO_BODY_STATUS:
                    return status, b"".join(answer.body), False  # a body ended by the close
                raise (IncompleteRead if answer.started else RemoteDisconnected)()
            parser.feed_data(data)
            if answer.complete:
                return parser.get_status_code(), b"".join(answer.body), answer.keep_alive
            if answer.headers_done and method == "HEAD":  # no body follows, whatever it says
                return parser.get_status_code(), b"", False

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def ask_fresh(
    endpoint: Endpoint,
    method: str,
    path: str,
    timeout_seconds: float = 2.0,
    *,
    payload: Any = None,
    source_address: str | None = None,
) -> Reply:
    """One request on a new connection (so the load balancer picks a replica afresh)."""
    conn = Connection(endpoint, timeout_seconds, source_address=source_address)
    try:
        return conn.request(method, path, payload)
    finally:
        conn.close()
