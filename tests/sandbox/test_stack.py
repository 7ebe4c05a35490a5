"""The sandbox for real: every component killed with SIGKILL comes back healthy, data intact."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from drills.errors import ComponentError, InputError, StateDirError
from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import load_state
from tests.conftest import private_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def write_record(url: str, stream: str, seq: int, timeout_seconds: float = 15.0) -> None:
    """Write like a client that retries a 503 (a breaker still open after a restart)."""
    body = {
        "stream": stream,
        "seq": seq,
        "sent_at": "2026-01-01T00:00:00Z",
        "payload": f"p{seq}",
        "checksum": "x",
    }
    deadline = time.monotonic() + timeout_seconds
    while True:
        response = httpx.post(f"{url}/api/records", json=body, timeout=5.0)
        if response.status_code != 503 or time.monotonic() > deadline:
            assert response.status_code == 201, response.text
            return
        time.sleep(0.2)


def read_seqs(url: str, stream: str, timeout_seconds: float = 15.0) -> list[int]:
    """Read a stream back; a replica whose breaker is still open after a restart answers 503
    until its reset timeout passes, so retry like a client would."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        response = httpx.get(
            f"{url}/api/records", params={"stream": stream, "after": -1, "limit": 5000}, timeout=5.0
        )
        if response.status_code != 503 or time.monotonic() > deadline:
            response.raise_for_status()
            return [int(r["seq"]) for r in response.json()["records"]]
        time.sleep(0.2)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(url: str, timeout_seconds: float = 15.0) -> bool:
    """The service heals by itself once its dependencies are back (breakers, pool)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if healthy(url):
            return True
        time.sleep(0.1)
    return False


def test_status_json_lists_every_component(sandbox_target: SandboxTarget) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "drills",
            "sandbox",
            "status",
            "--json",
            "--state-dir",
            str(sandbox_target.sandbox.layout.root),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(out.stdout)
    assert info["control_plane"]["url"] == sandbox_target.control_plane_url
    assert set(info["components"]) == {c.value for c in Component}
    for comp in info["components"].values():
        assert comp["state"] == "running"
        assert all(psutil.pid_exists(pid) for pid in comp["pids"])
        assert comp["address"].startswith("127.0.0.1:")


@pytest.mark.parametrize(
    "component",
    [Component.POSTGRES, Component.REDIS, Component.CONTROL_PLANE, Component.POSTGRES_STANDBY],
)
def test_kill_9_then_restart_keeps_data(
    sandbox_target: SandboxTarget, component: Component
) -> None:
    url = sandbox_target.control_plane_url
    stream = f"test-{uuid.uuid4().hex[:8]}"
    for seq in range(20):
        write_record(url, stream, seq)
    killed = sandbox_target.kill(component)
    assert killed, "nothing was killed"
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        for pid in killed
    )
    if component in (Component.POSTGRES, Component.CONTROL_PLANE):
        assert not healthy(url)
    sandbox_target.restart(component)
    assert wait_healthy(url)
    assert read_seqs(url, stream) == list(range(20))
    assert sandbox_target.status()["components"][component.value]["state"] == "running"


def test_scale_control_plane_to_zero_and_back(sandbox_target: SandboxTarget) -> None:
    url = sandbox_target.control_plane_url
    sandbox_target.scale(Component.CONTROL_PLANE, 0)
    assert sandbox_target.replicas(Component.CONTROL_PLANE) == 0
    assert not healthy(url)
    sandbox_target.scale(Component.CONTROL_PLANE, 3)
    assert sandbox_target.replicas(Component.CONTROL_PLANE) == 3
    assert wait_healthy(url)
    sandbox_target.scale(Component.CONTROL_PLANE, 2)
    assert sandbox_target.replicas(Component.CONTROL_PLANE) == 2


def test_up_is_idempotent(sandbox_target: SandboxTarget) -> None:
    before = sandbox_target.status()
    sandbox_target.sandbox.up()
    after = sandbox_target.status()
    assert {k: v["pids"] for k, v in before["components"].items()} == {
        k: v["pids"] for k, v in after["components"].items()
    }


def test_backups_land_in_the_bucket(sandbox_target: SandboxTarget) -> None:
    base = sandbox_target.take_backup(Component.POSTGRES)
    snap = sandbox_target.take_backup(Component.REDIS)
    assert Path(base.path or "").joinpath("backup_manifest").exists()
    assert Path(snap.path or "").stat().st_size > 0
    assert base.backup_id in [b.backup_id for b in sandbox_target.list_backups(Component.POSTGRES)]
    assert any(Path(sandbox_target.sandbox.layout.wal_archive).iterdir())


def test_down_after_a_crashed_harness_leaves_no_process() -> None:
    state_dir = private_dir("drills-test-down-")
    script = (
        "import os, sys; from pathlib import Path; from drills.targets.sandbox.stack import Sandbox; "
        f"Sandbox(Path({str(state_dir)!r})).up(); os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", script], check=False, timeout=120)
    state = load_state(Sandbox(state_dir).layout)
    assert state is not None
    pids = [ref.pid for comp in state.components.values() for ref in comp.processes]
    assert pids and all(psutil.pid_exists(pid) for pid in pids)
    children = [c.pid for pid in pids for c in psutil.Process(pid).children(recursive=True)]
    Sandbox(state_dir).down(purge=True)
    for pid in pids + children:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    ports = state.ports.values()
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_down_stops_a_sandbox_whose_state_file_is_corrupt() -> None:
    """On main `down` refused a corrupt state file (one line, exit 2) and left every server
    running, with no drills command left to stop them; its processes carry the sandbox's label."""
    state_dir = private_dir("drills-test-corrupt-down-")
    box = Sandbox(state_dir)
    try:
        state = box.up()
        pids = [ref.pid for comp in state.components.values() for ref in comp.processes]
        box.layout.state_file.write_text('{"components": {}}')
        done = subprocess.run(
            [sys.executable, "-m", "drills", "sandbox", "down", "--state-dir", str(state_dir)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        for pid in pids:
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie", pid
        for port in state.ports.values():
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, port
    finally:
        box.down(purge=True)


def test_refuses_a_corrupt_state_file() -> None:
    state_dir = private_dir("drills-test-corrupt-")
    (state_dir / "state.json").write_text("{not json")
    with pytest.raises(StateDirError, match="corrupt sandbox state file"):
        Sandbox(state_dir).up()


def test_refuses_a_foreign_directory() -> None:
    state_dir = private_dir("drills-test-foreign-")
    (state_dir / "thesis.tex").write_text("precious")
    with pytest.raises(StateDirError, match="holds no drills sandbox"):
        Sandbox(state_dir).up()
    assert (state_dir / "thesis.tex").read_text() == "precious"


def test_refuses_a_port_in_use_without_harm() -> None:
    state_dir = private_dir("drills-test-port-")
    box = Sandbox(state_dir)
    from drills.targets.sandbox.state import SandboxState, allocate_ports, save_state

    state = SandboxState.new(allocate_ports())
    save_state(box.layout, state)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", state.ports[Component.POSTGRES]))
        squatter.listen()
        with pytest.raises(ComponentError, match="in use by another process"):
            box.up()
    box.down(purge=True)


def test_cli_unknown_component_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "drills",
            "sandbox",
            "restart",
            "mongodb",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "unknown component 'mongodb'" in done.stderr


def test_failed_up_names_the_component_and_shows_its_log() -> None:
    state_dir = private_dir("drills-test-broken-")
    box = Sandbox(state_dir)
    box.up()
    box.down()
    with (box.layout.primary_data / "postgresql.conf").open("a") as conf:
        conf.write("shared_buffers = banana\n")
    done = subprocess.run(
        [sys.executable, "-m", "drills", "sandbox", "up", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode != 0
    assert "postgres" in done.stderr
    assert "shared_buffers" in done.stderr  # the tail of PostgreSQL's own log says why
    state = load_state(box.layout)
    assert state is not None
    assert not any(ref.alive() for comp in state.components.values() for ref in comp.processes)
    box.down(purge=True)


def _running(box: Sandbox) -> list[int]:
    state = load_state(box.layout)
    refs = [ref for comp in state.components.values() for ref in comp.processes] if state else []
    proxy = box.fault_proxy().pid()
    return [ref.pid for ref in refs if ref.alive()] + ([proxy] if proxy else [])


def test_failed_up_stops_what_it_started() -> None:
    state_dir = private_dir("drills-test-half-up-")
    box = Sandbox(state_dir)
    try:
        box.up()
        box.down()
        state = load_state(box.layout)
        assert state is not None
        with socket.socket() as squatter:  # the control plane, started last, cannot bind
            squatter.bind(("127.0.0.1", state.ports[Component.CONTROL_PLANE]))
            squatter.listen()
            with pytest.raises(ComponentError, match="in use by another process"):
                box.up()
        assert _running(box) == []  # PostgreSQL, the standby and Redis were stopped again
    finally:
        box.down(purge=True)


def test_negative_replicas_are_refused_before_anything_starts() -> None:
    state_dir = private_dir("drills-test-replicas-")
    box = Sandbox(state_dir, replicas=-1)
    started = time.monotonic()
    try:
        with pytest.raises(InputError, match="replicas"):
            box.up()
        assert time.monotonic() - started < 5.0
        assert _running(box) == []
    finally:
        box.down(purge=True)
