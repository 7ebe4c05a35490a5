"""`drills runbook check` against a real sandbox: the runbook as it is, and with drift injected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from drills.cli.main import cli
from drills.runbook import Runbook, read_runbook_text
from drills.runbook.check import CheckTarget, check_runbook, open_check_target
from drills.runbook.findings import CheckReport, Status
from drills.targets.sandbox.driver import SandboxTarget
from tests.runbook.conftest import RUNBOOK
from tests.runbook.variants import DRIFTS, MISSING_SCRIPT, Drift, scripts_tree, with_drift

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CANNOT_HERE = {
    93: "no Kubernetes Services",
    101: "not nodes",
    139: "no ingress controller",
    253: "no autoscaler",
    423: "no MTBF objective",
}


@pytest.fixture(scope="module")
def target(sandbox_target: SandboxTarget, runbook: Runbook) -> CheckTarget:
    with open_check_target(f"sandbox:{sandbox_target.sandbox.layout.root}", runbook) as found:
        return found


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory, runbook: Runbook) -> Path:
    return scripts_tree(tmp_path_factory.mktemp("repo"), runbook)


@pytest.fixture(scope="module")
def baseline(runbook: Runbook, target: CheckTarget, scripts: Path) -> CheckReport:
    return check_runbook(runbook, target, scripts_dir=scripts)


def test_unchanged_runbook_has_no_drift_and_says_what_it_cannot_check(
    baseline: CheckReport,
) -> None:
    assert not baseline.drift, [f.to_json() for f in baseline.drift]
    rows = {f.line: f for f in baseline.findings}
    for line, why in CANNOT_HERE.items():
        assert rows[line].status is Status.CANNOT_CHECK and why in rows[line].detail, rows[line]
    assert rows[120].status is Status.OK and "control-plane (running" in rows[120].detail
    # every component runs as processes: a pod listing names them all, not only the databases
    assert rows[92].detail == "pods: control-plane, neo4j, postgres, postgres-standby, redis"
    # the sandbox's graph store (FalkorDB) stands in for Neo4j under the runbook's names
    assert rows[131].status is Status.OK and "neo4j (running" in rows[131].detail
    assert rows[196].status is Status.OK  # the neo4j breaker's reset route exists
    assert rows[193].status is Status.OK and "not sent" in rows[193].detail
    assert rows[153].status is Status.OK and "not sent" in rows[153].detail
    assert rows[313].status is Status.OK and "executable" in rows[313].detail
    counts = baseline.counts()
    assert counts["ok"] > 40 and counts["cannot check"] >= len(CANNOT_HERE)


@pytest.mark.parametrize("drift", DRIFTS, ids=lambda d: d.name)
def test_each_injected_drift_is_found_and_nothing_else(
    drift: Drift, target: CheckTarget, scripts: Path, baseline: CheckReport
) -> None:
    report = check_runbook(with_drift(drift), target, scripts_dir=scripts)
    assert [f.line for f in report.drift] == [drift.line], [f.to_json() for f in report.drift]
    (row,) = report.drift
    assert drift.expect in row.detail
    assert row.suggestion is not None and row.suggestion in row.detail
    before = {f.line: f.status for f in baseline.findings}
    after = {f.line: f.status for f in report.findings if f.line != drift.line}
    assert after == {line: s for line, s in before.items() if line != drift.line}


def test_missing_and_non_executable_scripts(
    runbook: Runbook, target: CheckTarget, tmp_path: Path
) -> None:
    root = scripts_tree(tmp_path, runbook)
    (root / MISSING_SCRIPT.old).unlink()
    (root / "scripts/dr/list-backups.sh").chmod(0o644)
    report = check_runbook(runbook, target, scripts_dir=root)
    drifted = {f.line: f for f in report.drift}
    assert sorted(drifted) == [MISSING_SCRIPT.line, 323]
    assert MISSING_SCRIPT.expect in drifted[MISSING_SCRIPT.line].detail
    assert "not executable" in drifted[323].detail


def test_cli_table_json_and_exit_codes(sandbox_target: SandboxTarget, tmp_path: Path) -> None:
    spec = f"sandbox:{sandbox_target.sandbox.layout.root}"
    result = CliRunner().invoke(cli, ["runbook", "check", str(RUNBOOK), "--target", spec])
    assert result.exit_code == 0, result.output
    assert "cannot check" in result.output and "drift" in result.output
    drifted = tmp_path / "drifted.md"
    drifted.write_text(RUNBOOK.read_text().replace("/api/resilience/health", "/api/health/x"))
    result = CliRunner().invoke(cli, ["runbook", "check", str(drifted), "--target", spec, "--json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    assert document["counts"]["drift"] == 1
    assert [f["line"] for f in document["findings"] if f["status"] == "drift"] == [54]


def test_a_fresh_sandbox_is_started_checked_and_removed(
    runbook: Runbook, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import drills.targets.sandbox.fresh

    made: list[Path] = []

    def fresh() -> Path:
        path = tmp_path / "fresh"
        path.mkdir(mode=0o711)
        path.chmod(0o711)
        tmp_path.chmod(0o711)
        made.append(path)
        return path

    monkeypatch.setattr(drills.targets.sandbox.fresh, "fresh_state_dir", fresh)
    with open_check_target("sandbox", runbook) as target:
        report = check_runbook(runbook, target)
    assert not report.drift
    assert {f.line: f.status for f in report.findings}[51] is Status.OK
    (state_dir,) = made
    assert not state_dir.exists()  # stopped and purged


def test_an_unknown_command_is_reported_not_dropped(
    target: CheckTarget, scripts: Path, baseline: CheckReport
) -> None:
    lines = RUNBOOK.read_text(encoding="utf-8").split("\n")
    lines.insert(92, "   helm rollback maestro 3")  # a new line 93 in Scenario 1's first block
    report = check_runbook(
        read_runbook_text("\n".join(lines), RUNBOOK), target, scripts_dir=scripts
    )
    row = next(f for f in report.findings if f.line == 93)
    assert (row.kind, row.subject, row.status) == (
        "unknown",
        "helm rollback maestro 3",
        Status.CANNOT_CHECK,
    )
    assert row.detail == "unknown command: no parser for 'helm' commands"
    assert not report.drift and len(report.findings) == len(baseline.findings) + 1


WITH_VARIABLES = """\
# Ops

- **Namespace**: `intelgraph-prod`
- **Load Balancer**: `https://maestro.intelgraph.ai`

### Scenario 1: Outage

#### Recovery

```bash
kubectl rollout restart deployment/maestro-control-plane -n $NS
kubectl get pods -n "${NAMESPACE}" -l app=$APP
curl -X POST https://maestro.intelgraph.ai/api/resilience/circuit-breakers/$BREAKER/reset
./scripts/$DIR/restore-postgresql.sh
kubectl rollout restart deployment/$DEPLOYMENT -n intelgraph-prod
kubectl rollout restart deployment/maestro-cp -n intelgraph-prod
kubectl logs <pod-name> -n intelgraph-prod > /tmp/pod.log 2>&1
curl -X POST https://maestro.intelgraph.ai/api/resilience/circuit-breakers/<name>/reset
```
"""


def test_shell_variables_and_placeholders_cannot_be_checked_and_are_not_drift(
    target: CheckTarget, scripts: Path
) -> None:
    """`-n $NS` names whatever NS holds when the commands run: the check says it cannot look
    that up, instead of reporting `namespace $NS not found`."""
    report = check_runbook(read_runbook_text(WITH_VARIABLES), target, scripts_dir=scripts)
    rows = {f.line: f for f in report.findings}
    for line, variable in (
        (11, "$NS"),
        (12, "${NAMESPACE}"),
        (13, "$BREAKER"),
        (14, "$DIR"),
        (15, "$DEPLOYMENT"),
    ):
        assert rows[line].status is Status.CANNOT_CHECK, rows[line]
        assert "shell variable" in rows[line].detail and variable in rows[line].detail, rows[line]
    assert [f.line for f in report.drift] == [16]  # a literal wrong name is still drift
    for line, placeholder in ((17, "<pod-name>"), (18, "<name>")):
        assert rows[line].status is Status.CANNOT_CHECK, rows[line]
        assert f"placeholder {placeholder}" in rows[line].detail, rows[line]
