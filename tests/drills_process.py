"""The `drills` command as a real process, for tests that need one (signals, exit codes, stdout).

One helper instead of a copy per test module: every such test runs `python -m drills` from the
repository with a private DRILLS_HOME. By default the child sees almost nothing of this process's
environment (a clean PATH only), so a developer's own DRILLS_* settings cannot leak into a test;
`inherit=True` passes the environment on, still without DRILLS_*, KUBECONFIG or a CI step summary.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PRIVATE = ("DRILLS_", "KUBECONFIG", "GITHUB_STEP_SUMMARY")


def drills_environ(
    home: Path, env: Mapping[str, str] | None = None, *, inherit: bool = False
) -> dict[str, str]:
    """The environment a `drills` child process gets (see the module docstring)."""
    if inherit:
        base = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE)}
    else:
        base = {"PATH": "/usr/bin:/bin"}
    return {**base, "DRILLS_HOME": str(home), **(env or {})}


def run_drills(
    *args: str,
    home: Path,
    env: Mapping[str, str] | None = None,
    inherit: bool = False,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """`python -m drills ARGS` to completion, output captured as text, never raising on exit."""
    return subprocess.run(
        [sys.executable, "-m", "drills", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=drills_environ(home, env, inherit=inherit),
        timeout=timeout,
    )


def one_line(stderr: str) -> str:
    """The one non-empty line of `stderr` (fails the test when there are more or none)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]
