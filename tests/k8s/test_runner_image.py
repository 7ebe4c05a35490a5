"""The runner image installs a runtime-only lock: the CronJobs ship no test or lint tools.

Before: one lock, compiled with the dev extra, so the image carried mypy, ruff, pytest and kmock.
`requirements-runtime.lock` is compiled from the same pyproject without the extra; it must hold
every runtime dependency, no dev-only one, and the very pins and hashes of `requirements.lock`
(one resolution, so the image runs what CI tested).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")


def pins(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of every pinned package."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        if match := _PIN.match(line):
            name = match.group(1).lower().replace("_", "-")
            found[name] = (match.group(2), frozenset())
        elif line.strip().startswith("--hash=") and name:
            version, hashes = found[name]
            found[name] = (version, hashes | {line.strip().split("=", 1)[1].rstrip(" \\")})
    return found


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=;~! ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_runtime_lock_has_every_runtime_dependency_and_no_dev_tool() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, full = pins(ROOT / "requirements-runtime.lock"), pins(ROOT / "requirements.lock")
    assert requirement_names(project["dependencies"]) <= set(runtime)
    dev_only = requirement_names(project["optional-dependencies"]["dev"])
    assert dev_only & {"pytest", "mypy", "ruff", "kmock", "kubernetes-validate"} == {
        "pytest", "mypy", "ruff", "kmock", "kubernetes-validate"
    }  # fmt: skip
    assert set(runtime) & dev_only == set()
    assert set(runtime) < set(full)
    for name, pinned in runtime.items():
        assert pinned == full[name], f"{name}: the runtime lock drifted from requirements.lock"
    header = (ROOT / "requirements-runtime.lock").read_text().splitlines()[1]
    assert "--extra dev" not in header and "-o requirements-runtime.lock" in header


def test_the_image_and_the_readme_build_use_the_runtime_lock() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "-r /tmp/requirements-runtime.lock" in dockerfile
    assert "requirements.lock" not in dockerfile.replace("requirements-runtime.lock", "")
    assert "python3 dev.py image" in (ROOT / "README.md").read_text()
    assert "RUNTIME_LOCK" in (ROOT / "dev.py").read_text()
