"""Every experiment in experiments/ loads for the Kubernetes target, through a profile.

Each file is loaded and validated by chaoslib, its `drills_target` is pointed at a Kubernetes
profile (whose kubeconfig leads to a local API server), the target registry must hand back the
Kubernetes driver for it, and every component an activity names must be mapped by the profile.
With no experiment files yet, the test skips with that reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drills.targets.base import Component
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.profile import load_profile
from tests.k8s.conftest import PROFILE, write_profile
from tests.k8s.kube_server import KubeServer
from tests.k8s.test_safety import kubeconfig, profile_with_kubeconfig

pytestmark = pytest.mark.k8s

EXPERIMENTS = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "experiments").glob("*")
    if p.suffix in (".yaml", ".yml", ".json")
)
PARAMS = [pytest.param(p, id=p.name) for p in EXPERIMENTS] or [
    pytest.param(None, marks=pytest.mark.skip(reason="experiments/ holds no experiment files yet"))
]
STANDBY = "  redis: deployment/redis\n"


def activities(experiment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (experiment.get("steady-state-hypothesis") or {}).get("probes") or []
    yield from experiment.get("method") or []
    yield from experiment.get("rollbacks") or []


def named_components(activity: dict[str, Any]) -> list[str]:
    arguments = (activity.get("provider") or {}).get("arguments") or {}
    names = list(arguments.get("components") or [])
    if "component" in arguments:
        names.append(arguments["component"])
    return [str(name) for name in names if "${" not in str(name)]


@pytest.mark.parametrize("path", PARAMS)
def test_experiment_loads_for_the_kubernetes_target(
    path: Path, cluster: KubeServer, tmp_path: Path
) -> None:
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    from drills.targets import registry

    config = kubeconfig(tmp_path / "kubeconfig", cluster.url, "staging")
    text = profile_with_kubeconfig(tmp_path, config).replace(
        STANDBY,
        STANDBY
        + "  postgres-standby: {kind: statefulset, name: postgresql-standby}\n"
        + "  neo4j: {kind: statefulset, name: neo4j}\n",
    )
    assert text != PROFILE
    profile_path = write_profile(tmp_path, text)
    profile = load_profile(profile_path)

    experiment = load_experiment(str(path))
    ensure_experiment_is_valid(experiment)
    configuration = {**(experiment.get("configuration") or {}), "drills_target": str(profile_path)}
    target = registry.target_from(configuration)
    try:
        assert isinstance(target, KubernetesTarget)
        assert target.profile.cluster.namespace == "maestro-staging"
        for activity in activities(experiment):
            for name in named_components(activity):
                assert Component(name) in profile.components, f"{activity['name']}: {name}"
    finally:
        registry.unregister(str(profile_path))
        target.close()
    assert cluster.mutating_requests() == []  # loading an experiment changes nothing
