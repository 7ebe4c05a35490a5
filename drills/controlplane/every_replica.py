"""Reaching every replica behind the control plane's one address.

Circuit breakers, pools and rate-limit counters live in each replica (each pod), while the service
has one address that a load balancer (the sandbox: the kernel's SO_REUSEPORT; Kubernetes: a Service)
spreads over the replicas by connection. A request on a fresh connection lands on some replica and
the answer says which (`replica`); asking on fresh connections until every replica has answered
reaches them all, the way an operator would reset a breaker pod by pod. `PinnedClient` keeps one
connection per replica, so a sequence of requests reaches the replica it checks.
"""

from __future__ import annotations

import time

from drills.controlplane import paths
from drills.controlplane.connection import Connection, Endpoint, Reply, ask_fresh
from drills.errors import ServiceError, ServiceTlsError, TargetError

__all__ = ["PinnedClient", "ask_every_replica"]

UNNAMED = "?"  # a service that does not name its replicas counts as one replica


def ask_every_replica(
    endpoint: Endpoint,
    method: str,
    path: str,
    replicas: int,
    *,
    timeout_seconds: float = 10.0,
    request_timeout_seconds: float = 2.0,
) -> dict[str, Reply]:
    """Ask on fresh connections until `replicas` distinct replicas have answered; by replica.

    Raises `TargetError` when not every replica answered within `timeout_seconds` (at once
    `ServiceTlsError` when the certificate is not trusted: asking again cannot help).
    """
    answers: dict[str, Reply] = {}
    deadline = time.monotonic() + timeout_seconds
    last_error: ServiceError | None = None
    while time.monotonic() < deadline:
        try:
            answer = ask_fresh(endpoint, method, path, request_timeout_seconds)
        except ServiceTlsError:
            raise
        except ServiceError as exc:
            last_error = exc
            time.sleep(0.02)
            continue
        if answer.replica is None:
            return {UNNAMED: answer}
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
    a connection the server dropped or closed is replaced by searching for that replica again.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        replicas: int,
        *,
        timeout_seconds: float = 10.0,
        request_timeout_seconds: float = 3.0,
        probe_path: str = paths.RESILIENCE_HEALTH,
    ) -> None:
        self._endpoint = endpoint
        self._timeout = request_timeout_seconds
        self._probe = probe_path
        self.connections: dict[str, Connection] = {}
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
        conn = Connection(self._endpoint, self._timeout)
        try:
            answer = conn.request("GET", self._probe)
        except ServiceTlsError:
            conn.close()
            raise
        except ServiceError:
            conn.close()
            time.sleep(0.02)
            return False
        replica = answer.replica or UNNAMED
        if not conn.is_open or replica in self.connections or wanted not in (None, replica):
            conn.close()
            return False
        self.connections[replica] = conn
        return True

    def _send(self, replica: str, method: str, path: str) -> Reply:
        conn = self.connections[replica]
        try:
            answer = conn.request(method, path)
        except ServiceError:
            del self.connections[replica]
            raise
        if not conn.is_open:  # the server closed it: the next request must find this replica
            del self.connections[replica]
        return answer

    def ask(self, replica: str, method: str, path: str, repin_seconds: float = 5.0) -> Reply:
        """One request to `replica` (re-pinned once if the server closed the connection)."""
        if replica in self.connections:
            try:
                return self._send(replica, method, path)
            except ServiceTlsError:
                raise
            except ServiceError:
                pass
        deadline = time.monotonic() + repin_seconds
        while replica not in self.connections and time.monotonic() < deadline:
            self._pin_one(wanted=replica)
        if replica not in self.connections:
            raise TargetError(f"replica {replica} no longer answers")
        return self._send(replica, method, path)

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()
