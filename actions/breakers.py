"""Circuit-breaker checks (runbook: test-circuit-breakers) that fail the drill when they fail.

Chaos Toolkit records a probe whose tolerance fails inside the method as a deviation but goes on
and does not fail the activity; a drill that must fail when a breaker misbehaves therefore checks
in actions that raise `ActivityFailed`. Every check runs on every replica (each keeps its own
breakers), over one keep-alive connection per replica so each call reaches the replica it checks.
A call "through" a dependency is `GET /health`, which makes one guarded call to each database.
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.activity_measurements import REPORT_KEY
from drills.controlplane import paths
from drills.controlplane.connection import Endpoint
from drills.controlplane.every_replica import PinnedClient
from drills.errors import DrillError
from drills.targets.base import Component
from drills.targets.registry import target_from

__all__ = [
    "assert_breaker_closes",
    "assert_breaker_half_opens",
    "assert_breaker_opens",
    "assert_breaker_resets",
    "wait_for_breakers_closed",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

BREAKERS_PATH = paths.CIRCUIT_BREAKERS
CALL_PATH = paths.HEALTH  # one guarded call to each database
POLL_SECONDS = 0.05


def _pinned(configuration: Configuration | None) -> PinnedClient:
    target = target_from(configuration)
    try:
        replicas = max(1, target.replicas(Component.CONTROL_PLANE))
        return PinnedClient(Endpoint.of(target), replicas)
    except DrillError as exc:
        raise ActivityFailed(f"cannot reach every replica: {exc}") from exc


def _breaker(client: PinnedClient, replica: str, name: str) -> dict[str, Any]:
    try:
        answer = client.ask(replica, "GET", BREAKERS_PATH)
    except DrillError as exc:
        raise ActivityFailed(f"replica {replica}: {exc}") from exc
    snapshot = answer.body.get(name)
    if not isinstance(snapshot, dict):
        raise ActivityFailed(f"replica {replica} has no circuit breaker named {name!r}")
    return snapshot


def _wait_state(
    client: PinnedClient, replica: str, name: str, wanted: str, timeout_seconds: float
) -> float | None:
    """Seconds until `wanted` was seen on `replica`, or None when not within the timeout."""
    started = time.monotonic()
    while time.monotonic() - started <= timeout_seconds:
        if _breaker(client, replica, name)["state"] == wanted:
            return time.monotonic() - started
        time.sleep(POLL_SECONDS)
    return None


def assert_breaker_opens(
    name: str = "postgres",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """With its dependency failing, the breaker must be OPEN on every replica once at most
    `fail_max` calls through it have failed (our calls alone; other traffic may open it sooner).
    """
    client = _pinned(configuration)
    calls: dict[str, int] = {}
    try:
        for replica in client.replicas:
            fail_max = int(_breaker(client, replica, name)["fail_max"])
            made = 0
            while _breaker(client, replica, name)["state"] != "open":
                if made >= fail_max:
                    raise ActivityFailed(
                        f"{name} breaker on replica {replica} still not OPEN after {made} failed "
                        f"calls (fail_max {fail_max})"
                    )
                try:
                    status = client.ask(replica, "GET", CALL_PATH).status
                except DrillError as exc:
                    raise ActivityFailed(f"replica {replica}: {exc}") from exc
                if status == 200:
                    raise ActivityFailed(f"{name} did not fail: GET /health answered 200")
                made += 1
            calls[replica] = made
    finally:
        client.close()
    return {
        "calls_until_open": calls,
        REPORT_KEY: {f"{name}_breaker_calls_until_open": max(calls.values(), default=0)},
    }


def _wait_half_open(
    client: PinnedClient, replica: str, name: str, timeout_seconds: float
) -> tuple[float, float] | None:
    """(seconds waited, seconds since the breaker last (re-)opened) when HALF-OPEN was seen.

    An OPEN breaker re-opens (and restarts its reset timeout) whenever a call that was already
    in flight fails late; a change of its failure count while OPEN marks such a re-open.
    """
    started = time.monotonic()
    opened_at = started
    last: tuple[str, int] | None = None
    while (now := time.monotonic()) - started <= timeout_seconds:
        snapshot = _breaker(client, replica, name)
        key = (str(snapshot["state"]), int(snapshot["fail_counter"]))
        if key[0] == "half-open":
            return now - started, now - opened_at
        if key[0] == "open" and last is not None and key != last:
            opened_at = now
        last = key
        time.sleep(POLL_SECONDS)
    return None


def assert_breaker_half_opens(
    name: str = "postgres",
    tolerance_seconds: float = 1.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """An OPEN breaker must let a trial call through (HALF-OPEN) on every replica no later than
    its reset timeout (plus `tolerance_seconds`) after it last opened."""
    client = _pinned(configuration)
    after_open: dict[str, float] = {}
    try:
        for replica in client.replicas:
            snapshot = _breaker(client, replica, name)
            reset = float(snapshot["reset_timeout_seconds"])
            if snapshot["state"] == "closed":
                raise ActivityFailed(f"{name} breaker on replica {replica} is not OPEN")
            # Calls in flight when it opened may fail late and re-open it: allow a few rounds.
            seen = _wait_half_open(client, replica, name, 3 * reset + 5.0)
            if seen is None:
                raise ActivityFailed(
                    f"{name} breaker on replica {replica} never HALF-OPEN "
                    f"(reset timeout {reset:.1f} s)"
                )
            if seen[1] > reset + tolerance_seconds:
                raise ActivityFailed(
                    f"{name} breaker on replica {replica} went HALF-OPEN {seen[1]:.2f} s after "
                    f"it last opened; its reset timeout is {reset:.1f} s"
                )
            after_open[replica] = round(seen[1], 3)
    finally:
        client.close()
    return {
        "half_open_after_last_open_seconds": after_open,
        REPORT_KEY: {
            f"{name}_breaker_half_open_after_seconds": max(after_open.values(), default=0.0)
        },
    }


def assert_breaker_resets(
    name: str = "postgres",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """`POST .../circuit-breakers/NAME/reset` must close the breaker and clear its failure count
    on every replica (checked in the reset's own answer: the failing dependency may trip it again
    right after)."""
    client = _pinned(configuration)
    answers: dict[str, dict[str, Any]] = {}
    try:
        for replica in client.replicas:
            try:
                answer = client.ask(replica, "POST", paths.breaker_reset(name))
            except DrillError as exc:
                raise ActivityFailed(f"replica {replica}: {exc}") from exc
            body = answer.body
            if answer.status != 200 or body.get("state") != "closed" or body.get("fail_counter"):
                raise ActivityFailed(
                    f"reset of the {name} breaker on replica {replica} answered "
                    f"HTTP {answer.status}: {body}"
                )
            answers[replica] = {"state": body["state"], "fail_counter": body["fail_counter"]}
    finally:
        client.close()
    return answers


def assert_breaker_closes(
    name: str = "postgres",
    grace_seconds: float = 3.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """After the dependency recovered, the breaker must be CLOSED again on every replica within
    its reset timeout plus `grace_seconds` (a successful trial call closes it)."""
    client = _pinned(configuration)
    started = time.monotonic()
    closed: dict[str, float] = {}
    try:
        for replica in client.replicas:
            reset = float(_breaker(client, replica, name)["reset_timeout_seconds"])
            limit = reset + grace_seconds - (time.monotonic() - started)
            waited = _wait_state(client, replica, name, "closed", max(0.0, limit))
            if waited is None:
                raise ActivityFailed(
                    f"{name} breaker on replica {replica} not CLOSED within "
                    f"{reset + grace_seconds:.1f} s of recovery"
                )
            closed[replica] = round(time.monotonic() - started, 3)
    finally:
        client.close()
    return {
        "closed_after_seconds": closed,
        REPORT_KEY: {f"{name}_breaker_close_seconds": max(closed.values(), default=0.0)},
    }


def wait_for_breakers_closed(
    timeout_seconds: float = 10.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Wait until every breaker on every replica is CLOSED (runbook: all should be CLOSED);
    reports `breakers_open_after_recovery`, the number still not closed at the timeout."""
    client = _pinned(configuration)
    deadline = time.monotonic() + timeout_seconds
    try:
        while True:
            states: dict[str, dict[str, str]] = {}
            for replica in client.replicas:
                try:
                    body = client.ask(replica, "GET", BREAKERS_PATH).body
                except DrillError as exc:
                    raise ActivityFailed(f"replica {replica}: {exc}") from exc
                states[replica] = {n: str(b.get("state")) for n, b in body.items()}
            not_closed = sum(1 for s in states.values() for v in s.values() if v != "closed")
            if not_closed == 0 or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS * 2)
    finally:
        client.close()
    return {"states": states, REPORT_KEY: {"breakers_open_after_recovery": not_closed}}
