"""Nobody else on the machine gets into the sandbox's databases.

PostgreSQL (scram-sha-256 over TCP, the replication user too) and Redis (`requirepass`) ask for
passwords generated per sandbox and kept in its 0600 state file. The tests connect as another user
(uid 65534, `nobody`) with nothing but the port: refused; with the password: let in (so the
refusal is the password's doing, not an unreachable server).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.postgres import bin_dir
from drills.targets.sandbox.state import load_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOBODY = 65534
_REDIS_PING = """
import socket, sys
port, password = int(sys.argv[1]), sys.argv[2]
with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
    if password:
        sock.sendall(f"AUTH {password}\\r\\n".encode())
        print(sock.recv(200).decode().strip())
    sock.sendall(b"PING\\r\\n")
    print(sock.recv(200).decode().strip())
"""


def _as_nobody(
    argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("switching to another uid needs root and setpriv")
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        cwd="/",
    )


def _credentials(target: SandboxTarget) -> dict[str, str]:
    data = json.loads(target.sandbox.layout.state_file.read_text())
    creds = data.get("credentials") or {}
    assert creds.get("postgres_password") and creds.get("redis_password"), "no passwords kept"
    return dict(creds)


def _psql(
    port: int, user_db: str, password: str | None, replication: bool = False
) -> subprocess.CompletedProcess[str]:
    conninfo = f"host=127.0.0.1 port={port} user=postgres dbname={user_db} connect_timeout=5"
    if replication:
        conninfo += " replication=true"
    env = {"PGPASSWORD": password} if password else {}
    query = "IDENTIFY_SYSTEM" if replication else "SELECT current_user"
    return _as_nobody([str(bin_dir() / "psql"), "-w", "-d", conninfo, "-c", query], env)


def test_another_uid_cannot_connect_to_postgres_without_the_password(
    sandbox_target: SandboxTarget,
) -> None:
    ports = sandbox_target.sandbox.state().ports
    for component in (Component.POSTGRES, Component.POSTGRES_STANDBY):
        refused = _psql(ports[component], "postgres", None)
        assert refused.returncode != 0, refused.stdout
        assert "password" in refused.stderr, refused.stderr
    refused = _psql(ports[Component.POSTGRES], "postgres", None, replication=True)
    assert refused.returncode != 0 and "password" in refused.stderr, refused.stderr
    password = _credentials(sandbox_target)["postgres_password"]
    allowed = _psql(ports[Component.POSTGRES], "postgres", password)
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.parametrize("component", [Component.REDIS, Component.NEO4J])
def test_another_uid_cannot_use_redis_without_the_password(
    sandbox_target: SandboxTarget, component: Component
) -> None:
    """Redis, and the graph store (FalkorDB speaks Redis's protocol, with the same password)."""
    port = sandbox_target.sandbox.state().ports[component]
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    refused = _as_nobody([python, "-c", _REDIS_PING, str(port), ""])
    assert refused.stdout.startswith("-NOAUTH"), refused.stdout + refused.stderr
    password = _credentials(sandbox_target)["redis_password"]
    allowed = _as_nobody([python, "-c", _REDIS_PING, str(port), password])
    assert allowed.stdout.split() == ["+OK", "+PONG"], allowed.stdout + allowed.stderr


def test_passwords_stay_in_the_private_state_file(sandbox_target: SandboxTarget) -> None:
    layout = sandbox_target.sandbox.layout
    creds = _credentials(sandbox_target)
    assert stat.S_IMODE(layout.state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(layout.service_config.stat().st_mode) == 0o600
    state = load_state(layout)
    assert state is not None
    for shown in (
        json.dumps(sandbox_target.status()),
        subprocess.run(
            [
                sys.executable,
                "-m",
                "drills",
                "sandbox",
                "status",
                "--json",
                "--state-dir",
                str(layout.root),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout,
        subprocess.run(
            [sys.executable, "-m", "drills", "sandbox", "status", "--state-dir", str(layout.root)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout,
        repr(state),
    ):
        for secret in creds.values():
            assert secret not in shown
    for log in layout.logs.glob("*.log"):
        text = log.read_text(errors="replace")
        for secret in creds.values():
            assert secret not in text, log.name
