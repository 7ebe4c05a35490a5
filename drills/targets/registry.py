"""From a target spec (`sandbox`, `sandbox:DIR`, a profile file) to a live `Target`.

Probes and actions run inside Chaos Toolkit and receive only the experiment's configuration; they
find their target here by the `drills_target` configuration value. `drills run` and `drills train
start` open their target with `registered_target`, so probes, actions and the measurement share
one driver (and the sandbox's process supervisor, which reaps the servers it started).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from drills.errors import InputError, ProfileError
from drills.targets.base import Target

CONFIG_KEY = "drills_target"
FRESH_SANDBOX = "sandbox"


class SpecKind(StrEnum):
    FRESH_SANDBOX = "fresh-sandbox"  # start one, drill it, stop it
    SANDBOX_DIR = "sandbox-dir"  # an already running sandbox, left running
    PROFILE = "profile"  # a YAML profile file


@dataclass(frozen=True)
class TargetSpec:
    kind: SpecKind
    text: str
    path: Path | None = None


def parse_spec(text: str) -> TargetSpec:
    text = text.strip()
    if text == FRESH_SANDBOX:
        return TargetSpec(SpecKind.FRESH_SANDBOX, text)
    if text.startswith("sandbox:"):
        raw = text.removeprefix("sandbox:")
        if not raw:
            raise InputError(
                "target 'sandbox:' needs a state directory, e.g. sandbox:/var/lib/drills/sandbox"
            )
        return TargetSpec(SpecKind.SANDBOX_DIR, text, existing_sandbox_dir(Path(raw).expanduser()))
    path = Path(text).expanduser()
    if path.suffix in (".yaml", ".yml", ".json") or path.exists():
        if not path.is_file():
            raise ProfileError(f"target profile {path} does not exist")
        return TargetSpec(SpecKind.PROFILE, text, path)
    raise InputError(
        f"unknown target {text!r}: use 'sandbox', 'sandbox:DIR' or a profile file (.yaml)"
    )


def existing_sandbox_dir(path: Path) -> Path:
    """`path` if it holds a sandbox (a state file); a wrong path is bad input, not a failure."""
    from drills.targets.sandbox.state import STATE_FILE

    if path.exists() and not path.is_dir():
        raise InputError(f"sandbox state directory {path} is not a directory")
    if not (path / STATE_FILE).is_file():
        raise InputError(
            f"no sandbox in {path}; start one with `drills sandbox up --state-dir {path}`"
        )
    return path


_lock = threading.Lock()
_active: dict[str, Target] = {}


def register(spec_text: str, target: Target) -> None:
    with _lock:
        _active[spec_text] = target


def unregister(spec_text: str) -> None:
    with _lock:
        _active.pop(spec_text, None)


@contextlib.contextmanager
def registered_target(
    spec: TargetSpec, *, say: Callable[[str], None], allow_production: bool = False
) -> Iterator[tuple[str, Target]]:
    """The target `spec` names, open for one command and registered under the key its probes
    and actions are given (yielded with it): a fresh sandbox started (and removed after, see
    `drills.targets.sandbox.fresh`), any other target opened (and closed after)."""
    with contextlib.ExitStack() as opened:
        target: Target
        if spec.kind is SpecKind.FRESH_SANDBOX:
            from drills.targets.sandbox.fresh import fresh_sandbox

            target = opened.enter_context(fresh_sandbox(say))
            key = target.name  # a new temp dir each time
        else:
            target = open_target(spec, allow_production=allow_production)
            opened.callback(target.close)
            key = spec.text
        register(key, target)
        opened.callback(unregister, key)
        yield key, target


def open_target(spec: TargetSpec, *, allow_production: bool = False) -> Target:
    """A driver for an existing target (a fresh sandbox: `registered_target`).

    Profiles of production-looking clusters are refused here, before any request is sent,
    unless `allow_production`.
    """
    if spec.kind is SpecKind.SANDBOX_DIR:
        from drills.targets.sandbox.driver import SandboxTarget

        assert spec.path is not None
        return SandboxTarget(spec.path)
    if spec.kind is SpecKind.PROFILE:
        from drills.targets.profiles import open_profile

        assert spec.path is not None
        return open_profile(spec.path, allow_production=allow_production)
    from drills.settings import Settings
    from drills.targets.sandbox.driver import SandboxTarget

    return SandboxTarget(Settings.from_environ().sandbox_dir)


def target_from(configuration: Mapping[str, Any] | None) -> Target:
    """The target a probe or action works on, from the experiment's configuration."""
    text = str((configuration or {}).get(CONFIG_KEY) or "")
    if not text:
        from drills.settings import Settings

        text = Settings.from_environ().target or FRESH_SANDBOX
    with _lock:
        found = _active.get(text)
    if found is not None:
        return found
    target = open_target(parse_spec(text))
    register(text, target)
    return target
