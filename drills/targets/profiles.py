"""Target profiles: YAML files naming a target and its objectives.

`kind: sandbox` profiles point at a sandbox state directory (and may say which certificates to
trust on its https control plane, `services.control_plane_tls`, as a Kubernetes profile does);
`kind: kubernetes` profiles are read by the Kubernetes driver's own loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drills.controlplane.trust import TlsTrust
from drills.errors import ProfileError
from drills.schema import check_document
from drills.targets.base import Target, TargetKind
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
    if kind == TargetKind.SANDBOX:
        from drills.targets.registry import existing_sandbox_dir
        from drills.targets.sandbox.driver import SandboxTarget

        raw_trust = (data.get("services") or {}).get("control_plane_tls")
        trust = None
        if raw_trust is not None:
            where = f"profile {path}: services.control_plane_tls"
            trust = TlsTrust.from_profile(raw_trust, path.parent, where)
        state_dir = existing_sandbox_dir(Path(data["state_dir"]).expanduser())
        return SandboxTarget(state_dir, trust=trust)
    if kind == TargetKind.KUBERNETES:
        from drills.targets.kubernetes import open_kubernetes_profile

        return open_kubernetes_profile(path, allow_production=allow_production)
    raise ProfileError(f"profile {path}: unknown kind {kind!r} (expected sandbox or kubernetes)")
