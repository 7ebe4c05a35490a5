"""HTTP/1.1 to the control plane: where it is, one connection to it, and what it answered.

The canary sends 100 requests a second and the sampler 20 more, for the whole drill, inside a CPU
budget of 10 % of one core for the harness. Measured on this project's 2-core machine, a request
through `httpx.Client` costs about 0.47 ms of CPU, through the standard library's `http.client` about
0.13 ms, so every request to the control plane goes through this thin client over `http.client`.

It is also the one boundary between the control plane and the rest of drills: an `https://` URL is
spoken over TLS with the endpoint's `TlsTrust` (a context built once per process), transport errors
become `ServiceUnreachableError` (an outage: no HTTP answer) or `ServiceTlsError` (a certificate the
harness does not trust: a configuration problem, never an outage), and JSON is decoded here.
"""

from __future__ import annotations

import functools
import http.client
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from drills.controlplane.trust import SYSTEM_TRUST, TlsTrust
from drills.errors import InputError, ServiceAnswerError, ServiceTlsError, ServiceUnreachableError

__all__ = ["Connection", "Endpoint", "HasControlPlane", "Reply", "ask_fresh"]

# A TLS connection that the server closes while we read is the server going away (an outage);
# every other TLS failure is the harness and the server disagreeing about TLS itself.
_CUT_OFF = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


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
        self._conn: http.client.HTTPConnection | None = None

    @property
    def is_open(self) -> bool:
        """Whether the next request reuses the current connection (keep-alive)."""
        return self._conn is not None

    def _connect(self) -> http.client.HTTPConnection:
        endpoint = self.endpoint
        if endpoint.secure:
            return http.client.HTTPSConnection(
                endpoint.host,
                endpoint.port,
                timeout=self._timeout,
                source_address=self._source,
                context=endpoint.trust.context(),
            )
        return http.client.HTTPConnection(
            endpoint.host, endpoint.port, timeout=self._timeout, source_address=self._source
        )

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
        headers = sent
        target = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.request(method, target, body, headers)
            response = self._conn.getresponse()
            data = response.read()
            if response.will_close:
                self.close()
            return Reply(response.status, data)
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
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ServiceUnreachableError(
                f"{method} {path}: no answer ({type(exc).__name__})", type(exc).__name__
            ) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


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
