"""Every command of the training shell against the real shared sandbox: what it prints, what it
changes, and that it lands on the exercise's timeline with its exit status."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget
from drills.training.exercise import EventKind, Exercise, ExerciseInfo, ExerciseState
from drills.training.output import Out
from drills.training.shell import install_launchers
from drills.training.shim import SCRIPT_PREFIX, run_command

pytestmark = pytest.mark.integration

SERVICE = "https://maestro.intelgraph.ai"


@pytest.fixture
def exercise(tmp_path: Path, sandbox_target: SandboxTarget) -> Iterator[Exercise]:
    """A running exercise on the shared sandbox, without a game (the shell needs no more)."""
    found = Exercise(tmp_path / "exercise")
    found.path.mkdir()
    install_launchers(found, shimmed=True)
    found.write_info(
        ExerciseInfo(
            run_id="shell-test",
            scenario="complete-outage",
            hidden=False,
            target_key=f"sandbox:{sandbox_target.sandbox.layout.root}",
            target_kind="sandbox",
            shimmed=True,
            control_plane_url=sandbox_target.control_plane_url,
            run_dir=str(tmp_path / "run"),
            time_limit_seconds=600,
            pager="test",
            pid=os.getpid(),
            state=ExerciseState.RUNNING,
            extra={"namespace": "intelgraph-prod", "service_url": SERVICE},
        )
    )
    yield found


def run(exercise: Exercise, command: str) -> tuple[int, str, str]:
    """One command as typed; (exit status, stdout, stderr). Scripts by their runbook path."""
    words = shlex.split(command)
    program = words[0]
    if "/" in program:
        program = SCRIPT_PREFIX + Path(program).name
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_command(exercise, program, words[1:], Out(stdout, stderr))
    last = exercise.events()[-1]
    assert last.kind is EventKind.COMMAND and last.exit_status == code
    assert last.end is not None and last.end >= last.at
    assert last.text == command or last.argv[0].endswith(words[0].lstrip("./"))
    return code, stdout.getvalue(), stderr.getvalue()


def test_kubectl_get_lists_the_sandbox_under_the_runbook_names(exercise: Exercise) -> None:
    code, out, _ = run(exercise, "kubectl get pods -n intelgraph-prod")
    assert code == 0
    for name in ("maestro-control-plane-0", "maestro-control-plane-1", "postgresql-0", "redis-0"):
        assert name in out
    assert "CrashLoopBackOff" not in out
    code, out, _ = run(exercise, "kubectl get pods -l app=redis")
    assert code == 0 and "redis-0" in out and "postgresql" not in out
    code, out, _ = run(exercise, "kubectl get statefulsets -n intelgraph-prod")
    assert code == 0 and "statefulset/postgresql" in out


def test_kubectl_get_pods_of_the_graph_store_lists_its_one_pod(exercise: Exercise) -> None:
    """The graph store (FalkorDB standing in for Neo4j) is one pod, neo4j-0, as in the runbook;
    its backup schedule is a process of the sandbox's, not a pod."""
    code, out, _ = run(exercise, "kubectl get pods -l app=neo4j")
    pods = [line.split()[0] for line in out.splitlines()[1:]]
    assert code == 0 and pods == ["neo4j-0"], out


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("kubectl get services -n intelgraph-prod", "no Kubernetes Services"),
        ("kubectl get ingress -n intelgraph-prod", "no Ingress"),
        ("kubectl get nodes", "not nodes"),
        ("kubectl get pods -n ingress-nginx", "ingress controller"),
    ],
)
def test_kubectl_get_of_what_the_sandbox_lacks_says_so(
    exercise: Exercise, command: str, why: str
) -> None:
    code, out, err = run(exercise, command)
    assert code == 0 and out.startswith("No resources found")
    assert why in err and err.startswith("[training shell]")


def test_kubectl_rollout_restart_and_status(
    exercise: Exercise, sandbox_target: SandboxTarget
) -> None:
    before = sandbox_target.status()["components"]["redis"]["pids"]
    code, out, _ = run(exercise, "kubectl rollout restart deployment/redis -n intelgraph-prod")
    assert code == 0 and out.strip() == "deployment/redis restarted"
    assert sandbox_target.status()["components"]["redis"]["pids"] != before
    code, out, _ = run(
        exercise, "kubectl rollout status deployment/maestro-control-plane -n intelgraph-prod"
    )
    assert code == 0 and "successfully rolled out" in out


def test_kubectl_scale(exercise: Exercise, sandbox_target: SandboxTarget) -> None:
    wanted = sandbox_target.replicas(Component.CONTROL_PLANE)
    try:
        code, out, _ = run(
            exercise,
            "kubectl scale deployment maestro-control-plane --replicas=3 -n intelgraph-prod",
        )
        assert code == 0 and "scaled" in out
        assert sandbox_target.replicas(Component.CONTROL_PLANE) == 3
    finally:
        sandbox_target.scale(Component.CONTROL_PLANE, wanted)
    code, _, err = run(exercise, "kubectl scale deployment maestro-control-plane")
    assert code == 1 and "--replicas" in err


def test_kubectl_logs(exercise: Exercise) -> None:
    code, out, _ = run(exercise, "kubectl logs -l app=postgresql -n intelgraph-prod --tail=5")
    assert code == 0 and 0 < len(out.strip().splitlines()) <= 5


def test_kubectl_maintenance_mode_on_and_off(
    exercise: Exercise, sandbox_target: SandboxTarget
) -> None:
    health = f"{sandbox_target.control_plane_url}/health"
    try:
        code, out, err = run(
            exercise, "kubectl apply -f infra/k8s/maintenance/maintenance-mode.yaml"
        )
        assert code == 0 and "created" in out and "delete -f" in err
        assert httpx.get(health, timeout=5).status_code == 503
    finally:
        code, out, _ = run(
            exercise, "kubectl delete -f infra/k8s/maintenance/maintenance-mode.yaml"
        )
    assert code == 0 and "deleted" in out
    assert httpx.get(health, timeout=5).status_code == 200


def test_kubectl_exec_psql(exercise: Exercise) -> None:
    query = "SELECT pid, now() - pg_stat_activity.query_start AS duration, query FROM pg_stat_activity WHERE (now() - pg_stat_activity.query_start) > interval '5 minutes';"
    code, out, _ = run(
        exercise,
        f"kubectl exec -it postgresql-0 -n intelgraph-prod -- psql -U postgres -c {shlex.quote(query)}",
    )
    assert code == 0 and out.startswith("pid | duration | query") and "rows)" in out


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            "kubectl rollout restart deployment/ingress-nginx-controller -n ingress-nginx",
            "no ingress controller",
        ),
        ("kubectl patch statefulset postgresql -n intelgraph-prod -p {}", "not available"),
        ("kubectl apply -f infra/k8s/security/rate-limiting.yaml", "not available"),
        ("kubectl rollout restart deployment/unknown", "not on the sandbox"),
    ],
)
def test_kubectl_unsupported_says_why(exercise: Exercise, command: str, message: str) -> None:
    code, out, err = run(exercise, command)
    assert code == 1 and out == "" and message in err


def test_curl_reaches_the_sandbox_under_the_runbook_url(exercise: Exercise) -> None:
    code, out, _ = run(exercise, f"curl -f {SERVICE}/health")
    assert code == 0 and "ok" in out.lower()
    code, out, _ = run(exercise, f"curl {SERVICE}/api/resilience/circuit-breakers")
    assert code == 0 and '"postgres"' in out
    code, out, _ = run(
        exercise, f"curl -X POST {SERVICE}/api/resilience/circuit-breakers/postgres/reset"
    )
    assert code == 0
    code, out, _ = run(
        exercise,
        f"curl -X POST {SERVICE}/graphql -H 'Content-Type: application/json' "
        '-d \'{"query":"{ healthCheck }"}\'',
    )
    assert code == 0 and '"healthCheck":true' in out.replace(" ", "")
    code, out, _ = run(exercise, f"curl {SERVICE}/api/monitoring/databases")
    assert code == 0 and "postgres" in out


def test_curl_errors_are_curls(exercise: Exercise) -> None:
    code, _, err = run(exercise, f"curl -f {SERVICE}/no-such-path")
    assert code == 22 and "404" in err
    code, _, err = run(exercise, "curl -f https://grafana.intelgraph.ai/")
    assert code == 6 and "grafana.intelgraph.ai" in err


def test_backup_scripts(exercise: Exercise, sandbox_target: SandboxTarget) -> None:
    code, out, _ = run(exercise, "./scripts/dr/verify-backups.sh")
    assert code in (0, 1) and "backup_age_seconds" in out
    code, out, _ = run(exercise, "./scripts/dr/list-backups.sh")
    assert code == 0 and "# postgres" in out and "# redis" in out
    code, out, _ = run(exercise, "./scripts/dr/verify-backup-integrity.sh")
    assert code == 0
    code, _, err = run(exercise, "./scripts/dr/verify-backup-integrity.sh --backup-id BACKUP_ID")
    assert code == 1 and "placeholder" in err


def test_integrity_scripts(exercise: Exercise) -> None:
    for script in ("database-integrity-check.sh", "check-data-consistency.sh"):
        code, out, _ = run(exercise, f"./scripts/dr/{script}")
        assert code == 0 and "passed" in out
    code, out, _ = run(exercise, "./scripts/dr/validate-restored-data.sh")
    assert code == 0 and "validated" in out
    code, out, _ = run(exercise, "./scripts/ops/production-readiness-check.sh")
    assert code == 0 and "READY" in out


def test_restore_redis_script(exercise: Exercise, sandbox_target: SandboxTarget) -> None:
    sandbox_target.take_backup(Component.REDIS)
    code, out, _ = run(exercise, "./scripts/dr/restore-redis.sh")
    assert code == 0 and "restore_seconds" in out


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("./scripts/dr/restore-postgresql.sh --backup-id x", "needs --target-time"),
        ("./scripts/dr/restore-postgres.sh --point-in-time yesterday", "is not a time"),
        ("./scripts/dr/restore-neo4j.sh --backup-id x", "neo4j backup"),
        ("./scripts/dr/test-circuit-breakers.sh", "injects a fault"),
        ("./scripts/dr/simulate-database-failure.sh", "injects a fault"),
    ],
)
def test_scripts_refused_with_a_reason(exercise: Exercise, command: str, message: str) -> None:
    code, _, err = run(exercise, command)
    assert code == 1 and message in err


def test_the_shell_runs_the_runbook_text_through_its_launchers(exercise: Exercise) -> None:
    command = (
        "kubectl get pods -n intelgraph-prod && ./scripts/dr/list-backups.sh && "
        f"curl -f {SERVICE}/health"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "drills",
            "train",
            "shell",
            "--exercise",
            str(exercise.path),
            "-c",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "postgresql-0" in done.stdout and "# postgres" in done.stdout
    recorded = [e.argv[0] for e in exercise.events()]
    assert recorded == ["kubectl", "./scripts/dr/list-backups.sh", "curl"]


def test_commands_after_the_exercise_ended_are_refused(exercise: Exercise) -> None:
    info = exercise.info()
    info.state = ExerciseState.ENDED
    exercise.write_info(info)
    err = io.StringIO()
    assert run_command(exercise, "kubectl", ["get", "pods"], Out(io.StringIO(), err)) == 1
    assert "ended" in err.getvalue() and exercise.events() == []


def test_on_kubernetes_nothing_is_shimmed_but_everything_is_recorded(
    exercise: Exercise, tmp_path: Path
) -> None:
    """A Kubernetes target: the launchers record the command and run the real program."""
    info = exercise.info()
    info.shimmed = False
    exercise.write_info(info)
    real = tmp_path / "real-bin"
    real.mkdir()
    (real / "kubectl").write_text('#!/bin/sh\necho "real kubectl $*"\nexit 3\n')
    (real / "kubectl").chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "drills", "train", "shell", "--exercise", str(exercise.path),
         "-c", "kubectl get pods -n intelgraph-prod"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{real}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert (
        done.returncode == 3 and done.stdout.strip() == "real kubectl get pods -n intelgraph-prod"
    )
    (event,) = exercise.events()
    assert event.text == "kubectl get pods -n intelgraph-prod" and event.exit_status == 3
