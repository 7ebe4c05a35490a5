"""The runbook's HTTP calls against the target's control plane: read-only, bounded, on loopback.

The runbook's service URL (`**Load Balancer**:`) is rewritten to the target's control-plane URL.
A read (GET, HEAD) is sent once and must answer with anything but 404/405; a `jq .key` after it
must find the key. A write (POST, PUT, PATCH, DELETE) is never sent: an OPTIONS request to the
same path asks only whether the route exists (404: it does not; 405 or any other answer: it does).
A breaker a URL names (`/circuit-breakers/NAME/reset`) must be one of
`/api/resilience/circuit-breakers`. Answers are cached, so each URL is asked once per check.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from drills.controlplane import paths
from drills.controlplane.connection import Connection, Reply
from drills.errors import ServiceError, ServiceUnreachableError
from drills.runbook.findings import Answer, cannot, did_you_mean, drift, not_found, ok
from drills.runbook.steps import HttpStep

__all__ = ["BREAKERS_PATH", "ServiceChecker"]

BREAKERS_PATH = paths.CIRCUIT_BREAKERS
_NOT_THERE = {404: "route not found (404)", 405: "method not allowed (405)"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _jq_path(stage: tuple[str, ...]) -> tuple[str, ...] | None:
    """The keys of a plain `jq '.a.b'` stage, else None."""
    if len(stage) != 2 or stage[0] != "jq" or not stage[1].startswith("."):
        return None
    keys = tuple(stage[1].split(".")[1:])
    return keys if keys and all(k.replace("_", "a").isalnum() for k in keys) else None


class ServiceChecker:
    """Checks HTTP steps against one control plane, over `http` (its URL and TLS trust)."""

    def __init__(
        self,
        http: Connection,
        runbook_url: str | None,
        known_routes: Sequence[str] = (),
    ) -> None:
        self.base_url = http.endpoint.url.rstrip("/")
        self.known_routes = tuple(known_routes)
        self.runbook_origin = None if runbook_url is None else _origin(runbook_url)
        self.http = http
        self._answers: dict[tuple[str, str], Reply | str] = {}

    def _ask(self, method: str, url: str) -> Reply | str:
        """`url` is on this service (see `rewrite`); asked once per check."""
        key = (method, url)
        if key not in self._answers:
            parts = urlsplit(url)
            path = parts.path.removeprefix(self.http.endpoint.prefix) or "/"
            path += f"?{parts.query}" if parts.query else ""
            try:
                self._answers[key] = self.http.request(method, path)
            except ServiceUnreachableError as exc:
                self._answers[key] = f"no answer from {url} ({exc.reason})"
            except ServiceError as exc:  # a certificate not trusted, said as it is
                self._answers[key] = str(exc)
        return self._answers[key]

    def breakers(self) -> list[str] | str:
        """The breaker names the service reports, or why they are unknown."""
        answer = self._ask("GET", self.base_url + BREAKERS_PATH)
        if isinstance(answer, str):
            return answer
        try:
            body: Any = answer.json()
        except ServiceError:
            return f"{BREAKERS_PATH} answered {answer.status} without JSON"
        return sorted(body) if isinstance(body, dict) else f"{BREAKERS_PATH}: not an object"

    def rewrite(self, url: str) -> str | None:
        """The URL on this target, or None when it is not the service's URL."""
        parts = urlsplit(url)
        if self.runbook_origin is not None and _origin(url) != self.runbook_origin:
            return None
        return self.base_url + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def check(self, step: HttpStep, absent: str | None) -> Answer:
        """`absent`: why this target cannot have the breaker or thing the URL names, if so."""
        url = self.rewrite(step.url)
        if url is None:
            return cannot(f"{_origin(step.url)} is not the service's URL")
        path = urlsplit(url).path
        segments = [s for s in path.split("/") if s]
        if "circuit-breakers" in segments[:-1]:
            name = segments[segments.index("circuit-breakers") + 1]
            breaker = self._breaker(name, absent)
            if breaker.status.value != "ok":
                return breaker
        if step.mutating:
            return self._route_exists(step.method, url, path)
        return self._read(step, url, path)

    def _breaker(self, name: str, absent: str | None) -> Answer:
        names = self.breakers()
        if isinstance(names, str):
            return cannot(names)
        if name in names:
            return ok(f"breaker {name} exists")
        if absent is not None:
            return cannot(absent)
        message, suggestion = not_found(f"breaker {name}", name, names)
        return drift(f"{message} (breakers: {', '.join(names)})", suggestion)

    def _missing(self, message: str, path: str) -> Answer:
        suggestion = did_you_mean(path, self.known_routes)
        return drift(
            f"{message}; did you mean {suggestion}?" if suggestion else message, suggestion
        )

    def _route_exists(self, method: str, url: str, path: str) -> Answer:
        answer = self._ask("OPTIONS", url)
        if isinstance(answer, str):
            return cannot(answer)
        if answer.status == 404:
            return self._missing(
                f"{method} {path}: route not found (OPTIONS answered 404; not sent)", path
            )
        return ok(f"{method} {path}: route exists (OPTIONS answered {answer.status}; not sent)")

    def _read(self, step: HttpStep, url: str, path: str) -> Answer:
        answer = self._ask(step.method, url)
        if isinstance(answer, str):
            return cannot(answer)
        code = answer.status
        if code in _NOT_THERE:
            return self._missing(f"{step.method} {path}: {_NOT_THERE[code]}", path)
        keys = _jq_path(step.pipeline[0]) if step.pipeline else None
        if keys is not None and code < 300:
            try:
                value: Any = answer.json()
            except ServiceError:
                return drift(f"{path} answered without JSON, the runbook pipes it to jq")
            for key in keys:
                if not isinstance(value, dict) or key not in value:
                    have = ", ".join(sorted(value)) if isinstance(value, dict) else "none"
                    return drift(f"{path}: the answer has no .{key} (keys: {have})")
                value = value[key]
            grep = step.pipeline[1] if len(step.pipeline) > 1 else ()
            if len(grep) == 2 and grep[0] == "grep" and grep[1] not in json.dumps(value):
                return drift(f"{path}: .{'.'.join(keys)} holds no {grep[1]!r}")
        if code >= 300:
            return ok(
                f"{step.method} {path} answered {code} (the route exists; the service is not healthy)"
            )
        return ok(f"{step.method} {path} answered {code}")
