"""Reaching every replica behind the control plane's one address.

Circuit breakers, pools and rate-limit counters live in each replica (each pod), while the service
has one address that a load balancer (the sandbox: the kernel's SO_REUSEPORT; Kubernetes: a Service)
spreads over the replicas by connection. A request on a fresh connection lands on some replica and
the answer says which (`replica`); asking on fresh connections until every replica has answered
reaches them all, the way an operator would reset a breaker pod by pod.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from drills.errors import TargetError

__all__ = ["Answer", "PinnedClient", "ask_every_replica", "ask_fresh"]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def replica(self) -> str | None:
        """Which replica answered (the sandbox service says; None when the body does not)."""
        value = self.body.get("replica")
        return None if value is None else str(value)


def ask_fresh(
    base_url: str, method: str, path: str, timeout_seconds: float = 2.0, source: str | None = None
) -> Answer:
    """One request on a new connection (so the load balancer picks a replica afresh)."""
    parts = urlsplit(base_url)
    if parts.hostname is None:
        raise TargetError(f"not an http URL: {base_url!r}")
    conn = http.client.HTTPConnection(
        parts.hostname,
        parts.port or 80,
        timeout=timeout_seconds,
        source_address=(source, 0) if source else None,
    )
    try:
        conn.request(method, parts.path.rstrip("/") + path, headers={"user-agent": "drills"})
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise TargetError(f"{method} {path}: no answer: {type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {}
    return Answer(response.status, body if isinstance(body, dict) else {"value": body})


def ask_every_replica(
    base_url: str,
    method: str,
    path: str,
    replicas: int,
    *,
    timeout_seconds: float = 10.0,
    request_timeout_seconds: float = 2.0,
) -> dict[str, Answer]:
    """Ask on fresh connections until `replicas` distinct replicas have answered; by replica.

    Raises `TargetError` when not every replica answered within `timeout_seconds`. A service that
    does not name its replicas counts as one replica.
    """
    answers: dict[str, Answer] = {}
    deadline = time.monotonic() + timeout_seconds
    last_error: TargetError | None = None
    while time.monotonic() < deadline:
        try:
            answer = ask_fresh(base_url, method, path, request_timeout_seconds)
        except TargetError as exc:
            last_error = exc
            time.sleep(0.02)
            continue
        if answer.replica is None:
            return {"?": answer}
        answers.setdefault(answer.replica, answer)
        if len(answers) >= replicas:
            return answers
    detail = f"; last error: {last_error}" if last_error else ""
    raise TargetError(
        f"{method} {path}: {len(answers)} of {replicas} replicas answered in "
        f"{timeout_seconds:.0f} s{detail}"
    )


class PinnedClient:
    """One keep-alive connection per replica: every request on it reaches that same replica.

    Found by opening connections until each replica has answered on one (the answer names it);
    a connection the server dropped is replaced by searching for that replica again.
    """

    def __init__(
        self,
        base_url: str,
        replicas: int,
        *,
        timeout_seconds: float = 10.0,
        request_timeout_seconds: float = 3.0,
        probe_path: str = "/api/resilience/health",
    ) -> None:
        parts = urlsplit(base_url)
        if parts.hostname is None:
            raise TargetError(f"not an http URL: {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._timeout = request_timeout_seconds
        self._probe = probe_path
        self.connections: dict[str, http.client.HTTPConnection] = {}
        deadline = time.monotonic() + timeout_seconds
        while len(self.connections) < replicas and time.monotonic() < deadline:
            self._pin_one(wanted=None)
        if len(self.connections) < replicas:
            self.close()
            raise TargetError(
                f"reached {len(self.connections)} of {replicas} replicas in {timeout_seconds:.0f} s"
            )

    @property
    def replicas(self) -> list[str]:
        return sorted(self.connections)

    def _pin_one(self, wanted: str | None) -> bool:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            answer = self._send(conn, "GET", self._probe)
        except TargetError:
            conn.close()
            time.sleep(0.02)
            return False
        replica = answer.replica or "?"
        if replica in self.connections or (wanted is not None and replica != wanted):
            conn.close()
            return False
        self.connections[replica] = conn
        return True

    def _send(self, conn: http.client.HTTPConnection, method: str, path: str) -> Answer:
        try:
            conn.request(method, self._prefix + path, headers={"user-agent": "drills"})
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TargetError(f"{method} {path}: no answer: {type(exc).__name__}") from exc
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        return Answer(response.status, body if isinstance(body, dict) else {"value": body})

    def ask(self, replica: str, method: str, path: str, repin_seconds: float = 5.0) -> Answer:
        """One request to `replica` (re-pinned once if the server closed the connection)."""
        conn = self.connections.get(replica)
        if conn is not None:
            try:
                return self._send(conn, method, path)
            except TargetError:
                del self.connections[replica]
        deadline = time.monotonic() + repin_seconds
        while replica not in self.connections and time.monotonic() < deadline:
            self._pin_one(wanted=replica)
        if replica not in self.connections:
            raise TargetError(f"replica {replica} no longer answers")
        return self._send(self.connections[replica], method, path)

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()
