"""Target profiles: YAML files naming a target and its objectives.

`kind: sandbox` profiles point at a sandbox state directory; `kind: kubernetes` profiles are read by
the Kubernetes driver's own loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drills.errors import ProfileError
from drills.schema import check_document
from drills.targets.base import Target
from drills.yamlfiles import load_mapping


def read_profile(path: Path) -> dict[str, Any]:
    """The profile in `path`, of the shape `drills/schemas/profile.json` describes."""
    data = load_mapping(path, "profile", error=ProfileError, expected=" with a 'kind' key")
    check_document(data, "profile", f"profile {path}", error=ProfileError)
    return data


def profile_objectives(path: Path) -> dict[str, Any]:
    """The profile's `objectives:` overrides (validated by drills.objectives)."""
    objectives: dict[str, Any] = read_profile(path).get("objectives") or {}
    return objectives


def open_profile(path: Path, *, allow_production: bool = False) -> Target:
    data = read_profile(path)
    kind = data.get("kind")
    if kind == "sandbox":
        from drills.targets.registry import existing_sandbox_dir
        from drills.targets.sandbox.driver import SandboxTarget

        return SandboxTarget(existing_sandbox_dir(Path(data["state_dir"]).expanduser()))
    if kind == "kubernetes":
        from drills.targets.kubernetes import open_kubernetes_profile

        return open_kubernetes_profile(path, allow_production=allow_production)
    raise ProfileError(f"profile {path}: unknown kind {kind!r} (expected sandbox or kubernetes)")
