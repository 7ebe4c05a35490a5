"""`drills run --dry-run` refuses production-looking targets (exit 3) before any request (issue 9).

On the landed main a namespace or context `prd`, `myprod` or `intelgraphprod` passed the guard
(dry-run exit 0), and a profile said nothing about the environment it drills.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drills.errors import ExitCode
from tests.cli.invoke import invoke


def _profile(tmp_path: Path, namespace: str, context: str, environment: str | None) -> Path:
    config = tmp_path / "kubeconfig"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
                "current-context": context,
            }
        )
    )
    profile: dict[str, object] = {
        "kind": "kubernetes",
        "name": "target",
        "kubernetes": {"namespace": namespace, "kubeconfig": str(config), "context": context},
        "components": {"control-plane": "deployment/api"},
        "services": {"control_plane": "http://127.0.0.1:1"},
    }
    if environment is not None:
        profile["environment"] = environment
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


# (namespace, context, environment, what the refusal says): profiles the guard refuses
PRODUCTION_LOOKING = [
    ("prd", "staging", "staging", "namespace 'prd' contains 'prd'"),
    ("myprod", "staging", "staging", "namespace 'myprod' contains 'prod'"),
    ("drills", "intelgraphprod", "staging", "context 'intelgraphprod' contains 'prod'"),
    ("drills", "staging", None, "the profile declares no environment"),
    ("drills", "staging", "production", "environment 'production' is not one of"),
]


@pytest.mark.parametrize(("namespace", "context", "environment", "says"), PRODUCTION_LOOKING)
def test_dry_run_refuses_production_looking_targets(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    namespace: str,
    context: str,
    environment: str | None,
    says: str,
) -> None:
    profile = _profile(tmp_path, namespace, context, environment)
    args = ("run", "complete-outage", "--target", str(profile), "--dry-run")
    done = invoke(capsys, monkeypatch, tmp_path, *args)
    assert done.code == ExitCode.ABORTED, done.stderr + done.stdout
    assert says in done.line()
    assert "--allow-production" in done.line()


@pytest.mark.parametrize(("namespace", "context", "environment", "says"), PRODUCTION_LOOKING)
def test_schedule_refuses_a_production_looking_profile(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    namespace: str,
    context: str,
    environment: str | None,
    says: str,
) -> None:
    """CronJobs and RBAC for a profile every scheduled run would refuse: refused at once."""
    profile = _profile(tmp_path, namespace, context, environment)
    args = ("schedule", "--emit", "kubernetes", "--namespace", "drills", "--image", "drills:1")
    done = invoke(capsys, monkeypatch, tmp_path, *args, "--profile", str(profile))
    assert done.code == ExitCode.ABORTED, done.stderr + done.stdout
    assert says in done.line()
    assert done.stdout == ""
    allowed = invoke(
        capsys, monkeypatch, tmp_path, *args, "--profile", str(profile), "--allow-production"
    )
    assert allowed.code == ExitCode.MET, allowed.stderr
    assert "kind: CronJob" in allowed.stdout
