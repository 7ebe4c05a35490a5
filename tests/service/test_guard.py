"""Guard and rate limiter: the breaker, deadline and limit logic, on a real event loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from drills.targets.sandbox.service.guard import (
    BreakerState,
    Dependency,
    DependencyUnavailable,
    FailureKind,
    Guard,
)
from drills.targets.sandbox.service.ratelimit import ClientRateLimiter


def make_guard(fail_max: int = 3, reset_seconds: float = 0.2) -> Guard:
    return Guard(
        Dependency.POSTGRES,
        fail_max=fail_max,
        reset_seconds=reset_seconds,
        is_failure=lambda exc: isinstance(exc, ConnectionError | TimeoutError),
    )


async def refuse() -> int:
    raise ConnectionRefusedError("connection refused")


async def succeed() -> int:
    return 42


def test_breaker_opens_after_fail_max_then_half_opens_and_closes() -> None:
    async def scenario() -> None:
        guard = make_guard()
        kinds = []
        for _ in range(4):
            with pytest.raises(DependencyUnavailable) as caught:
                await guard.run(refuse, 1.0)
            kinds.append(caught.value.kind)
        assert kinds == [
            FailureKind.UNAVAILABLE,
            FailureKind.UNAVAILABLE,
            FailureKind.CIRCUIT_OPEN,  # the third failure trips it
            FailureKind.CIRCUIT_OPEN,  # fails fast without calling
        ]
        assert guard.state is BreakerState.OPEN
        await asyncio.sleep(0.25)  # past reset_seconds: the next call is the trial
        assert await guard.run(succeed, 1.0) == 42
        assert guard.snapshot()["state"] == BreakerState.CLOSED
        assert guard.snapshot()["fail_counter"] == 0

    asyncio.run(scenario())


def test_caller_errors_pass_through_and_do_not_count() -> None:
    async def bad_input() -> int:
        raise ValueError("not the dependency's fault")

    async def scenario() -> None:
        guard = make_guard(fail_max=2)
        for _ in range(3):
            with pytest.raises(ValueError, match="fault"):
                await guard.run(bad_input, 1.0)
        assert guard.state is BreakerState.CLOSED

    asyncio.run(scenario())


def test_reset_closes_an_open_breaker() -> None:
    async def scenario() -> None:
        guard = make_guard(fail_max=1, reset_seconds=60)
        with pytest.raises(DependencyUnavailable):
            await guard.run(refuse, 1.0)
        assert guard.state is BreakerState.OPEN
        guard.reset()
        assert guard.snapshot()["state"] == "closed"
        assert await guard.run(succeed, 1.0) == 42

    asyncio.run(scenario())


def test_timeout_answers_on_time_even_if_cancellation_is_slow() -> None:
    async def hangs_and_cleans_up_slowly() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            # like psycopg cancelling a query on a frozen server
            await asyncio.sleep(0.5)
            raise
        return 0

    async def scenario() -> None:
        guard = make_guard()
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable) as caught:
            await guard.run(hangs_and_cleans_up_slowly, 0.1)
        elapsed = time.monotonic() - started
        assert caught.value.kind is FailureKind.TIMEOUT
        assert elapsed < 0.3
        assert guard.snapshot()["fail_counter"] == 1  # a timeout is the dependency's failure
        await guard.drain(2.0)

    asyncio.run(scenario())


def test_rate_limiter_is_per_client_and_says_when_to_retry() -> None:
    limiter = ClientRateLimiter("3/minute")
    assert [limiter.hit("127.0.0.11").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.hit("127.0.0.11")
    assert not refused.allowed
    assert 1 <= refused.retry_after_seconds <= 60
    assert limiter.hit("127.0.0.12").allowed  # another client has its own window
    assert limiter.hit("127.0.0.11", override="100/minute").allowed  # the runtime override wins
    assert limiter.effective(None) == "3/minute"
