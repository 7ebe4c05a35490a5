"""Shared fixtures: a real sandbox, started once per test session where tests need one."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.processes import Supervisor
from tests.postgres_history import history_location, team_pg

__all__ = ["history_location", "team_pg"]  # the history fixtures: SQLite and a real PostgreSQL


@pytest.fixture(autouse=True, scope="session")
def private_drills_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads or writes the user's own runs and history (a test that needs a home of its
    own still sets DRILLS_HOME itself); subprocesses of the CLI inherit it."""
    saved = {key: os.environ.get(key) for key in ("DRILLS_HOME", "DRILLS_HISTORY")}
    os.environ["DRILLS_HOME"] = str(tmp_path_factory.mktemp("drills-home"))
    os.environ.pop("DRILLS_HISTORY", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def private_dir(prefix: str) -> Path:
    """A temp dir PostgreSQL's unprivileged user can reach even when the tests run as root."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    return path


@contextlib.contextmanager
def running_sandbox(prefix: str) -> Iterator[SandboxTarget]:
    """A sandbox up for the duration of the block, stopped and deleted after it."""
    state_dir = private_dir(prefix)
    target = SandboxTarget(state_dir, supervisor=Supervisor())
    try:
        target.sandbox.up()
        yield target
    finally:
        target.sandbox.down(purge=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox_target() -> Iterator[SandboxTarget]:
    """One running sandbox for the whole session; tests that break it must repair it."""
    with running_sandbox("drills-test-sandbox-") as target:
        yield target


def restart_what_a_failed_test_left_down(target: SandboxTarget) -> None:
    """A test that failed before its repair leaves a component stopped; restart it, loudly, so one
    failure is reported once instead of once for every later test on the shared sandbox."""
    for name, component in target.sandbox.status()["components"].items():
        if component["state"] not in ("running", "unavailable"):
            print(
                f"shared sandbox: {name} was {component['state']}; restarting it", file=sys.stderr
            )
            target.sandbox.restart(Component(name))


@pytest.fixture(autouse=True)
def _shared_sandbox_whole(request: pytest.FixtureRequest) -> None:
    if "sandbox_target" in request.fixturenames:
        restart_what_a_failed_test_left_down(request.getfixturevalue("sandbox_target"))
