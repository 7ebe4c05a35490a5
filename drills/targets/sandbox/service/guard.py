"""One guarded door per dependency: circuit breaker, time bound and failure classification.

Every PostgreSQL, Redis and graph-store call of the service goes through a `Guard`, so the runbook's circuit
breakers see every failure and every call is bounded by the request's deadline. The breaker is
pybreaker's (`CircuitBreaker.calling()` around the awaited call); only failures of the dependency
itself count (connection errors, timeouts, a read-only server), never a caller's bad input.

The awaited operation runs in its own task: on timeout the caller gets its answer at once and the
task is cancelled in the background, because psycopg answers a cancellation by cancelling the query
on the server, which can itself wait several seconds on a frozen server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from enum import StrEnum
from typing import Any, TypeVar

import pybreaker

from drills.errors import TargetError

__all__ = [
    "BreakerState",
    "Dependency",
    "DependencyUnavailable",
    "FailureKind",
    "Guard",
    "remaining_seconds",
    "request_deadline",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Absolute time.monotonic() by which the current request must have answered; set by the
# middleware for each request, read by every guarded call made while serving it.
request_deadline: ContextVar[float | None] = ContextVar("request_deadline", default=None)


def remaining_seconds(default_seconds: float) -> float:
    """Seconds left before the current request's deadline (`default_seconds` outside requests)."""
    deadline = request_deadline.get()
    if deadline is None:
        return default_seconds
    return deadline - time.monotonic()


class Dependency(StrEnum):
    POSTGRES = "postgres"
    REDIS = "redis"
    NEO4J = "neo4j"  # the graph store


class BreakerState(StrEnum):
    """Breaker states as the API reports them (pybreaker's own names, lower-case)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class FailureKind(StrEnum):
    CIRCUIT_OPEN = "circuit open"
    TIMEOUT = "timeout"
    POOL_TIMEOUT = "no connection available"  # pool exhausted, or the server is unreachable
    UNAVAILABLE = "dependency unavailable"


class DependencyUnavailable(TargetError):
    """A dependency failed (or its breaker is open); the service answers 503."""

    def __init__(self, dependency: Dependency, kind: FailureKind, detail: str) -> None:
        super().__init__(f"{dependency}: {kind}: {detail}")
        self.dependency = dependency
        self.kind = kind
        self.detail = detail

    def to_json(self) -> dict[str, Any]:
        return {"error": str(self.kind), "dependency": str(self.dependency), "detail": self.detail}


class _StateLogger(pybreaker.CircuitBreakerListener):
    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        old = old_state.name if old_state is not None else "-"
        if old == new_state.name:
            return  # pybreaker re-enters "open" when a concurrent call fails; not a change
        log.warning("circuit breaker %s: %s -> %s", cb.name, old, new_state.name)


def _reap(task: asyncio.Task[Any]) -> None:
    # Retrieve the outcome of an abandoned task so asyncio does not log it as never retrieved.
    if not task.cancelled():
        task.exception()


class Guard:
    """A dependency's breaker plus the rules for what counts as its failure."""

    def __init__(
        self,
        dependency: Dependency,
        *,
        fail_max: int,
        reset_seconds: float,
        is_failure: Callable[[BaseException], bool],
        pool_timeout_kinds: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.dependency = dependency
        self.is_failure = is_failure
        self._pool_timeout_kinds = pool_timeout_kinds  # "waited too long for a connection"
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_seconds,
            exclude=[lambda exc: not is_failure(exc)],
            listeners=[_StateLogger()],
            name=str(dependency),
        )
        self._abandoned: set[asyncio.Task[Any]] = set()
        # called with the kind of every failure of the dependency itself (not an open breaker's
        # refusal): the metrics count database connection failures here
        self.failure_hooks: list[Callable[[FailureKind], None]] = []

    @property
    def state(self) -> BreakerState:
        return BreakerState(self.breaker.current_state)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "fail_counter": self.breaker.fail_counter,
            "fail_max": self.breaker.fail_max,
            "reset_timeout_seconds": float(self.breaker.reset_timeout),
        }

    def reset(self) -> None:
        """Close the breaker and forget its failures (the runbook's manual reset)."""
        self.breaker.close()

    async def run(
        self, operation: Callable[[], Coroutine[Any, Any, T]], timeout_seconds: float
    ) -> T:
        """Await `operation()` through the breaker, within `timeout_seconds`.

        Raises `DependencyUnavailable` for an open breaker, a timeout or a dependency failure;
        any other exception (a caller's error) passes through unchanged and does not count.
        """
        try:
            return await self._through_breaker(operation, timeout_seconds)
        except DependencyUnavailable as exc:
            if exc.kind is not FailureKind.CIRCUIT_OPEN:
                for hook in self.failure_hooks:
                    hook(exc.kind)
            raise

    async def _through_breaker(
        self, operation: Callable[[], Coroutine[Any, Any, T]], timeout_seconds: float
    ) -> T:
        try:
            with self.breaker.calling():
                return await self._bounded(operation, timeout_seconds)
        except pybreaker.CircuitBreakerError as exc:
            raise DependencyUnavailable(
                self.dependency, FailureKind.CIRCUIT_OPEN, str(exc)
            ) from exc
        except TimeoutError as exc:
            detail = f"no answer within {max(timeout_seconds, 0.0):.2f} s"
            raise DependencyUnavailable(self.dependency, FailureKind.TIMEOUT, detail) from exc
        except self._pool_timeout_kinds as exc:
            raise DependencyUnavailable(
                self.dependency, FailureKind.POOL_TIMEOUT, str(exc)
            ) from exc
        except Exception as exc:
            if not self.is_failure(exc):
                raise
            detail = f"{type(exc).__name__}: {exc}".strip()
            raise DependencyUnavailable(self.dependency, FailureKind.UNAVAILABLE, detail) from exc

    async def _bounded(
        self, operation: Callable[[], Coroutine[Any, Any, T]], timeout_seconds: float
    ) -> T:
        if timeout_seconds <= 0:
            raise TimeoutError
        task = asyncio.create_task(operation())
        try:
            async with asyncio.timeout(timeout_seconds):
                return await asyncio.shield(task)
        except BaseException:
            if not task.done():
                task.cancel()
                self._abandoned.add(task)
                task.add_done_callback(self._abandoned.discard)
            task.add_done_callback(_reap)
            raise

    async def drain(self, timeout_seconds: float = 1.0) -> None:
        """Wait (bounded) for abandoned operations to finish cancelling; used at shutdown."""
        if self._abandoned:
            await asyncio.wait(set(self._abandoned), timeout=timeout_seconds)
