"""The edge of every request, before any handler: deny list, rate limit, maintenance, deadline.

In the order an ingress and the service itself would apply them: a denied address gets 403 before
anything else, then the per-client rate limit (429 with Retry-After), then maintenance mode (503
for writes), then injected faults (a delay, a share answered 500; never on `/metrics`), then the
request runs under its deadline (`request_timeout_seconds`; every guarded dependency call inside
reads the same deadline). Every answer, refused or not, is counted for `/metrics` and
`/api/resilience/metrics`; a request whose client went away before sending all of it is counted as
499 (nginx's "client closed request"), not as the server error the app then raises. A plain ASGI middleware: no per-request task or body copy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drills.targets.sandbox.service.guard import request_deadline
from drills.targets.sandbox.service.services import Services

__all__ = ["EdgeMiddleware", "is_write"]

CLIENT_CLOSED_REQUEST = 499  # nginx's status for a request its client abandoned
METRICS_PATH = "/metrics"  # scrapes are never slowed or failed by injected faults
# The answer must be on its way this long after the deadline, even if a handler ignores it.
HARD_TIMEOUT_GRACE_SECONDS = 0.25
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_write(method: str, path: str) -> bool:
    """A business write refused in maintenance (operator actions under /api/resilience are not)."""
    return (
        method in _WRITE_METHODS
        and path.startswith("/api/")
        and not path.startswith("/api/resilience/")
    )


class _ShareCounter:
    """Picks exactly `share` of the calls, evenly spread (no randomness to make a test flaky)."""

    def __init__(self) -> None:
        self._credit = 0.0

    def take(self, share: float) -> bool:
        if share <= 0:
            self._credit = 0.0
            return False
        self._credit += share
        if self._credit >= 1.0:
            self._credit -= 1.0
            return True
        return False


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, services: Services, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.services = services
        self.routes = routes
        self._aborts = _ShareCounter()

    def _route_label(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return str(getattr(route, "path", "other"))
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services = self.services
        started = time.monotonic()
        status = 500
        response_started = False
        disconnected = False

        async def receive_and_watch() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        async def send_and_watch(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
            await send(message)

        async def answer(
            code: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            await JSONResponse(body, status_code=code, headers=headers)(
                scope, receive, send_and_watch
            )

        client = scope["client"][0] if scope.get("client") else ""
        runtime = services.runtime.current
        method = scope["method"]
        try:
            if client in runtime.deny:
                services.tallies.denied_total += 1
                services.metrics.rejected("denied")
                await answer(403, {"error": "forbidden", "client": client})
                return
            decision = services.limiter.hit(client, runtime.rate_limit)
            if not decision.allowed:
                services.tallies.rate_limited_total += 1
                services.metrics.rejected("rate_limited")
                await answer(
                    429,
                    {"error": "rate limit exceeded", "limit": decision.limit, "client": client},
                    {"Retry-After": str(decision.retry_after_seconds)},
                )
                return
            if runtime.maintenance and is_write(method, scope["path"]):
                services.tallies.maintenance_rejected_total += 1
                await answer(
                    503,
                    {"error": "maintenance", "maintenance": True, "replica": services.replica},
                    {"Retry-After": "1"},
                )
                return
            if scope["path"] != METRICS_PATH and (runtime.delay_seconds or runtime.abort_share):
                if runtime.delay_seconds:
                    await asyncio.sleep(runtime.delay_seconds)
                if self._aborts.take(runtime.abort_share):
                    await answer(500, {"error": "injected fault", "replica": services.replica})
                    return
            timeout = services.config.request_timeout_seconds
            # an injected delay happens before the request reaches the service (as in a mesh):
            # it does not eat into the request's own deadline
            token = request_deadline.set(started + runtime.delay_seconds + timeout)
            try:
                async with asyncio.timeout(timeout + HARD_TIMEOUT_GRACE_SECONDS) as bound:
                    await self.app(scope, receive_and_watch, send_and_watch)
            except TimeoutError:
                if not bound.expired():
                    raise
                if not response_started:
                    await answer(503, {"error": "request timeout", "timeout_seconds": timeout})
            finally:
                request_deadline.reset(token)
        finally:
            if disconnected:
                # the client gave up before it sent its whole request: not a server error
                status = CLIENT_CLOSED_REQUEST
            services.tallies.requests_total += 1
            if status >= 500:
                services.tallies.errors_total += 1
            services.metrics.observe(
                self._route_label(scope), method, status, time.monotonic() - started
            )
