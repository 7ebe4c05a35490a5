#!/usr/bin/env python3
"""One entry point for a fresh machine with only Python 3.11+: build the environment, then act.

    python3 dev.py drill [SCENARIO]   run a measured drill on a fresh embedded sandbox
    python3 dev.py test [PYTEST ARGS] lint, type-check and run the whole test suite
    python3 dev.py drills ARGS...     any `drills` command inside the environment
    python3 dev.py env                only build the environment
    python3 dev.py image [TAG]        build the runner image (deploy/Dockerfile), print its size

The environment is `.venv/` beside this file, installed from `requirements.lock` (pinned versions
with hashes) and rebuilt whenever the lock file changes. The monitoring drill needs Debian's
`prometheus` and `prometheus-alertmanager` packages: run as root on Debian, dev.py installs them
with apt-get when they are missing (and says so); elsewhere that drill and its tests are skipped. The project itself is put on the venv's
path with a .pth file, so nothing needs to be built. Standard library only: this runs before any
dependency exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"  # what the image installs: no dev tools
RUNTIME_VENV = ROOT / "build" / "runtime-venv"
DEFAULT_TAG = "drills:0.1.0"
STAMP = VENV / ".lock-sha256"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
DEFAULT_SCENARIO = "complete-outage"
MONITORING_PACKAGES = ("prometheus", "prometheus-alertmanager")
MONITORING_BINARIES = ("prometheus", "prometheus-alertmanager", "promtool")


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py must explain itself on an old Python)
        sys.exit(f"dev.py: Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    say(f"building {VENV.relative_to(ROOT)} from {LOCK.name} (first run takes a minute or two)")
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--require-hashes", "--no-deps", "-r", str(LOCK)], check=True)
    site = subprocess.run(
        [str(PYTHON), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "drills-dev.pth").write_text(str(ROOT) + "\n")
    STAMP.write_text(wanted + "\n")
    say("environment ready")


def ensure_monitoring() -> None:
    """Install Prometheus and Alertmanager with apt-get when root on Debian and they are missing."""
    if all(shutil.which(b) for b in MONITORING_BINARIES):
        return
    packages = " ".join(MONITORING_PACKAGES)
    can_install = (
        sys.platform == "linux"
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and Path("/etc/debian_version").exists()
        and shutil.which("apt-get") is not None
    )
    if not can_install:
        say(f"the monitoring drill needs the Debian packages {packages}: skipped here")
        return
    say(f"installing {packages} with apt-get for the monitoring drill (about a minute)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *MONITORING_PACKAGES]
    done = subprocess.run(install, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:  # a fresh machine may not have package lists yet
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False, capture_output=True)
        done = subprocess.run(install, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        say(
            f"could not install {packages} ({lines[-1] if lines else 'apt-get failed'}); "
            "the monitoring drill and its tests are skipped"
        )
        return
    say(f"installed {packages}")


def run(argv: list[str]) -> int:
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


def test(extra: list[str]) -> int:
    steps = [
        ("ruff", [str(PYTHON), "-m", "ruff", "check", "."]),
        # the layer contracts in pyproject.toml: the engine never imports an adapter
        ("import-linter", [str(BIN / "lint-imports"), "--no-cache"]),
        ("mypy", [str(PYTHON), "-m", "mypy"]),
        # the slowest tests are listed at the end: where CI time goes
        ("pytest", [str(PYTHON), "-m", "pytest", "--durations=25", *extra]),
    ]
    for name, argv in steps:
        say(f"{name} ...")
        code = run(argv)
        if code != 0:
            say(f"{name} failed (exit {code})")
            return code
    return 0


def tree_bytes(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def image(tag: str) -> int:
    """Build the runner image and print its size; without Docker, build the image's runtime
    environment (the same lock, the same install command) and print that size instead."""
    docker = shutil.which("docker")
    engine = (
        docker is not None
        and subprocess.run([docker, "info"], capture_output=True, check=False).returncode == 0
    )
    if docker is not None and engine:
        build = [docker, "build", "-f", "deploy/Dockerfile", "-t", tag, "."]
        if run(build) != 0:
            return 1
        size = subprocess.run(
            [docker, "image", "inspect", "--format", "{{.Size}}", tag],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        print(f"image {tag}: {int(size) / 1e6:.0f} MB")
        return 0
    say(
        f"no Docker engine here: building the image's runtime venv from {RUNTIME_LOCK.name} instead"
    )
    venv.EnvBuilder(with_pip=True, clear=True).create(RUNTIME_VENV)
    python = RUNTIME_VENV / BIN.name / PYTHON.name
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--require-hashes", "--no-deps", "-r", str(RUNTIME_LOCK)],
                   check=True)  # fmt: skip
    runtime = tree_bytes(RUNTIME_VENV)
    print(f"image {tag} (no Docker engine: its runtime venv, what the image puts in /opt/venv): "
          f"{runtime / 1e6:.0f} MB from {RUNTIME_LOCK.name}")  # fmt: skip
    if VENV.exists():
        print(f"  for comparison, the dev venv {VENV.name}/ (with the dev tools): "
              f"{tree_bytes(VENV) / 1e6:.0f} MB")  # fmt: skip
    return 0


def main(args: list[str]) -> int:
    command, rest = (args[0], args[1:]) if args else ("help", [])
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    ensure_env()
    ensure_monitoring()
    if command == "env":
        return 0
    if command == "test":
        return test(rest)
    if command == "drill":
        scenario = rest[0] if rest and not rest[0].startswith("-") else DEFAULT_SCENARIO
        options = rest[1:] if rest and not rest[0].startswith("-") else rest
        if "--out" not in options:
            # a new folder each time: drills never writes a run into an earlier run's folder
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            options = [*options, "--out", str(ROOT / "drill-reports" / scenario / stamp)]
        return run([str(PYTHON), "-m", "drills", "run", scenario, *options])
    if command == "drills":
        return run([str(PYTHON), "-m", "drills", *rest])
    if command == "image":
        return image(rest[0] if rest else DEFAULT_TAG)
    say(f"unknown command {command!r}; try: python3 dev.py help")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
