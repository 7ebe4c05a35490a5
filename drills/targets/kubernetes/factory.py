"""Opening a Kubernetes target from a profile: the one place that loads client configuration.

Order matters for safety: the configuration is loaded from local files only (no request), the
production guard judges the namespace, context and cluster names, and only then is a client
built and handed to the driver (whose gateway checks the names once more).
"""

from __future__ import annotations

from pathlib import Path

from drills.safety import Plan, RunMode, check_not_production
from drills.targets.kubernetes.client import connection_for
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.profile import KubernetesProfile, load_profile

__all__ = ["open_kubernetes_profile", "open_target"]


def open_target(
    profile: KubernetesProfile,
    *,
    allow_production: bool = False,
    mode: RunMode = RunMode.LIVE,
    plan: Plan | None = None,
) -> KubernetesTarget:
    """Connect as the profile says (kubeconfig, or in-cluster); refuse production first."""
    connection = connection_for(profile.cluster)
    identity = connection.identity
    check_not_production(
        profile.cluster.namespace,
        identity.context,
        cluster=identity.cluster,
        allow_production=allow_production,
        profile_environment=True,
        environment=profile.environment,
    )
    return KubernetesTarget(
        profile,
        connection.api_client(),
        identity=identity,
        allow_production=allow_production,
        mode=mode,
        plan=plan,
    )


def open_kubernetes_profile(
    path: Path | str,
    *,
    allow_production: bool = False,
    mode: RunMode = RunMode.LIVE,
    plan: Plan | None = None,
) -> KubernetesTarget:
    """`load_profile()` then `open_target()`: what `drills --target PROFILE.yaml` needs."""
    return open_target(load_profile(path), allow_production=allow_production, mode=mode, plan=plan)
