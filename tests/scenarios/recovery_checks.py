"""Checks the recovery scenario tests share: a sandbox that outlives its drill, so what the drill
reported can be held against the database itself afterwards."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from drills.integrity import table_facts
from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.pgcluster import Role, role_of, streams_from
from drills.targets.sandbox.postgres import conninfo
from drills.targets.sandbox.stack import Sandbox
from tests.conftest import private_dir, restart_what_a_failed_test_left_down


@contextmanager
def lasting_sandbox() -> Iterator[Sandbox]:
    """A sandbox started here (so `sandbox:DIR` drills leave it running), removed at the end."""
    box = Sandbox(private_dir("drills-test-scenario-"))
    try:
        box.up()
        yield box
    finally:
        box.down(purge=True)


def acknowledged(run_dir: Path) -> set[int]:
    """Every canary seq the service acknowledged, from the run's fsync'd journal."""
    lines = (run_dir / "canary.jsonl").read_text().splitlines()
    return {int(json.loads(line)["seq"]) for line in lines if line.strip()}


def stored(box: Sandbox, report: dict[str, Any]) -> set[int]:
    """The drill's canary seqs present in the primary now."""
    stream = f"drill-{report['run_id']}"
    with psycopg.connect(conninfo(box.port(Component.POSTGRES))) as conn:
        rows = conn.execute("SELECT seq FROM canary_records WHERE stream = %s", (stream,))
        return {int(row[0]) for row in rows.fetchall()}


def in_graph(box: Sandbox, report: dict[str, Any]) -> set[int]:
    """The drill's canary seqs present in the graph store (neo4j) now."""
    from drills.canary import read_back
    from drills.controlplane.connection import Endpoint

    stream = f"drill-{report['run_id']}"
    return set(read_back(Endpoint(box.control_plane_url), stream, store="neo4j"))


def corrupt_rows(box: Sandbox) -> int:
    with psycopg.connect(conninfo(box.port(Component.POSTGRES))) as conn:
        return sum(f.corrupt for f in table_facts(conn).values())


def assert_as_it_began(box: Sandbox) -> None:
    """`postgres` the writable primary on its port, `postgres-standby` streaming from it, all up."""
    primary, standby = box.port(Component.POSTGRES), box.port(Component.POSTGRES_STANDBY)
    assert role_of(primary) is Role.PRIMARY
    assert streams_from(standby, primary)
    status = box.status()
    assert status["running"], status


def settle(target: SandboxTarget, timeout_seconds: float = 90.0) -> None:
    """Wait until a sandbox that a test broke and repaired is whole again: every replica healthy
    and every breaker closed, ten checks in a row. A breaker opened by the last drill stays open
    for its reset time; a drill started before that sees a steady state that does not hold."""
    from drills.actions.components import wait_until_healthy
    from drills.probes.http import circuit_breakers_closed, health_ok
    from drills.targets.registry import CONFIG_KEY

    config = {CONFIG_KEY: f"sandbox:{target.sandbox.layout.root}"}
    restart_what_a_failed_test_left_down(target)
    deadline = time.monotonic() + timeout_seconds
    streak = 0
    while streak < 10:
        if time.monotonic() > deadline:
            raise AssertionError(f"the sandbox did not settle in {timeout_seconds:.0f} s")
        wait_until_healthy(timeout_seconds=timeout_seconds, configuration=config)
        whole = health_ok(1.0, config) and circuit_breakers_closed(1.0, config)
        streak = streak + 1 if whole else 0
        time.sleep(0.1)
