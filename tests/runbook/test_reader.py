"""The reader on the real runbook: scenarios, phases, every command typed, facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.errors import RunbookError
from drills.runbook import Runbook, read_runbook, read_runbook_text
from drills.runbook.model import PhaseKind
from drills.runbook.steps import HttpStep, KubectlStep, ObjectRef, ScriptStep, StepKind, UnknownStep
from tests.runbook.conftest import RUNBOOK


def test_four_scenarios_with_their_phases(runbook: Runbook) -> None:
    assert [(s.key, s.title) for s in runbook.scenarios] == [
        ("Scenario 1", "Complete Service Outage"),
        ("Scenario 2", "Database Connection Issues"),
        ("Scenario 3", "High Traffic / DDoS Attack"),
        ("Scenario 4", "Data Corruption / Data Loss"),
    ]
    one = runbook.scenario("1")
    assert [p.kind for p in one.phases] == [
        PhaseKind.DETECTION,
        PhaseKind.IMMEDIATE,
        PhaseKind.RECOVERY,
        PhaseKind.VERIFICATION,
    ]
    detection = one.phase(PhaseKind.DETECTION)
    assert detection is not None and detection.bullets[0].startswith("Health checks failing")
    assert [len(s.steps) for s in runbook.scenarios] == [18, 9, 6, 14]


def test_every_shell_command_is_a_step_and_none_is_unknown(runbook: Runbook) -> None:
    lines = RUNBOOK.read_text().splitlines()
    commands = [
        n + 1
        for n, line in enumerate(lines)
        if line.strip().startswith(("kubectl ", "curl ", "./scripts/"))
    ]
    assert [s.origin.line for s in runbook.steps] == commands
    assert not [s for s in runbook.steps if isinstance(s, UnknownStep)]
    assert runbook.text_blocks == 2  # the two message templates


def test_kubectl_steps_are_typed(runbook: Runbook) -> None:
    by_line = {s.origin.line: s for s in runbook.steps}
    restart = by_line[128]
    assert isinstance(restart, KubectlStep)
    assert (restart.verb, restart.subverb) == ("rollout", "restart")
    assert restart.objects == (ObjectRef("statefulset", "postgresql"),)
    assert restart.namespace == "intelgraph-prod" and restart.mutating
    logs = by_line[173]
    assert isinstance(logs, KubectlStep) and not logs.mutating
    assert logs.selector == (("app", "postgresql"),)
    exec_ = by_line[218]
    assert isinstance(exec_, KubectlStep)
    assert exec_.objects == (ObjectRef("pod", "postgresql-0"),)
    assert exec_.exec_command[:3] == ("psql", "-U", "postgres")
    scale = by_line[250]
    assert isinstance(scale, KubectlStep) and scale.replicas == "10"
    heredoc = by_line[268]
    assert isinstance(heredoc, KubectlStep) and heredoc.files == ()
    assert heredoc.manifest is not None and "kind: NetworkPolicy" in heredoc.manifest
    follow = by_line[513]
    assert isinstance(follow, KubectlStep) and follow.files == ()
    assert follow.objects == (ObjectRef("deployment", "maestro-control-plane"),)


def test_http_and_script_steps_are_typed(runbook: Runbook) -> None:
    by_line = {s.origin.line: s for s in runbook.steps}
    graphql = by_line[153]
    assert isinstance(graphql, HttpStep)
    assert graphql.method == "POST" and graphql.url == "https://maestro.intelgraph.ai/graphql"
    assert graphql.body == '{"query":"{ healthCheck }"}'
    assert graphql.headers == (("Content-Type", "application/json"),)
    health = by_line[51]
    assert isinstance(health, HttpStep) and health.fail_on_error and not health.mutating
    metrics = by_line[186]
    assert isinstance(metrics, HttpStep) and metrics.pipeline == (("jq", ".resilience"),)
    restore = by_line[335]
    assert isinstance(restore, ScriptStep)
    assert restore.path == "./scripts/dr/restore-postgresql.sh"
    assert restore.args == ("--backup-id", "BACKUP_ID", "--target-time", "2024-01-15 10:00:00")
    assert by_line[335].origin.note == "Restore PostgreSQL from backup"
    assert by_line[335].origin.item == "Restore from backup (if needed)"
    assert {s.kind for s in runbook.steps} == {StepKind.KUBECTL, StepKind.HTTP, StepKind.SCRIPT}


def test_objectives_cadence_and_environment(runbook: Runbook) -> None:
    values = {o.field: o.value for o in runbook.objectives if o.field}
    assert values == {
        "rto_seconds": 900.0,
        "rpo_seconds": 300.0,
        "mttr_seconds": 1800.0,
        "p95_latency_seconds": 0.5,
        "error_rate": 0.01,
        "db_pool_utilisation": 0.8,
        "breakers_closed_after_recovery": True,
    }
    assert [c.cadence for c in runbook.cadence] == ["monthly", "quarterly", "semi-annual", "annual"]
    assert runbook.namespace == "intelgraph-prod"
    assert runbook.service_url == "https://maestro.intelgraph.ai"


def test_unknown_commands_are_kept_with_a_reason() -> None:
    text = "# Ops\n\n### Scenario 9: X\n\n```bash\nhelm rollback maestro 3\necho 'open\n```\n"
    book = read_runbook_text(text)
    reasons = [s.reason for s in book.steps if isinstance(s, UnknownStep)]
    assert reasons == ["no parser for 'helm' commands", "cannot split: No closing quotation"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary", "not UTF-8"),
        (b"just: yaml\nno: headings\n", "no Markdown headings"),
        (b"# Ops\n\n## Contacts\n\ncall someone\n", "no scenarios"),
        (b"# Ops\x00\n", "binary data"),
    ],
)
def test_bad_input_is_one_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "book.md"
    path.write_bytes(content)
    with pytest.raises(RunbookError, match=message):
        read_runbook(path)


def test_unknown_scenario_names_the_known(runbook: Runbook) -> None:
    with pytest.raises(RunbookError, match=r"no scenario 'Scenario 9'.*Scenario 2 \(Database"):
        runbook.scenario("Scenario 9")
    assert runbook.scenario("database connection issues").key == "Scenario 2"


def test_commands_run_through_sudo_are_typed_as_the_command() -> None:
    text = (
        "# Ops\n\n### Scenario 9: X\n\n```bash\n"
        "sudo kubectl rollout restart deployment/redis -n ops\n"
        "sudo -u deploy ./scripts/dr/restore.sh --backup-id B1\n"
        "sudo -E bash scripts/check.sh\n"
        "sudo curl -X POST https://svc.example/reset\n"
        "```\n"
    )
    restart, restore, check, reset = read_runbook_text(text).steps
    assert isinstance(restart, KubectlStep)
    assert (restart.verb, restart.subverb, restart.namespace) == ("rollout", "restart", "ops")
    assert restart.objects == (ObjectRef("deployment", "redis"),)
    assert isinstance(restore, ScriptStep)
    assert (restore.path, restore.args) == ("./scripts/dr/restore.sh", ("--backup-id", "B1"))
    assert isinstance(check, ScriptStep) and (check.path, check.args) == ("scripts/check.sh", ())
    assert isinstance(reset, HttpStep) and (reset.method, reset.url) == (
        "POST",
        "https://svc.example/reset",
    )
    assert restart.text.startswith("sudo ") and restart.argv[0] == "kubectl"  # as written, as run


IRREGULAR = """\
# Ops

## Scenarios

### 🔥 Scenario 1 — Complete Outage

```bash
kubectl get pods -n x
```

#### Diagnosis

```bash
kubectl rollout restart deployment/redis -n x
```

#### Recovery

```bash
curl https://svc/health
```

### Scenario 2. Slow database

### Scenario: Unnumbered
"""


def test_scenario_headings_as_teams_write_them_and_every_command_in_them() -> None:
    book = read_runbook_text(IRREGULAR)
    assert [(s.key, s.title) for s in book.scenarios] == [
        ("Scenario 1", "Complete Outage"),
        ("Scenario 2", "Slow database"),
        ("Scenario", "Unnumbered"),
    ]  # "Scenarios" is a heading above them, not a scenario
    one = book.scenario("1")
    # commands before the first phase heading, and under a phase of another name, are its steps
    assert [s.origin.line for s in one.steps] == [8, 14, 20]
    assert [p.kind for p in one.phases] == [PhaseKind.OTHER, PhaseKind.OTHER, PhaseKind.RECOVERY]
    assert one.steps[0].origin.phase == "other"


def test_redirections_are_not_words_and_angle_placeholders_are() -> None:
    text = (
        "# Ops\n\n### Scenario 9: X\n\n```bash\n"
        "kubectl logs <pod-name> -n intelgraph-prod\n"
        "kubectl get pods -n intelgraph-prod > /tmp/pods.txt 2>&1\n"
        "curl -X POST https://svc/api/resilience/circuit-breakers/<name>/reset\n"
        "kubectl get pods -n ops 2>/dev/null | grep -v Running\n"
        'curl -d \'{"q": "a > b"}\' https://svc/graphql >>out.json\n'
        "kubectl apply -f - < policy.yaml\n"
        "```\n"
    )
    logs, listing, reset, filtered, query, apply = read_runbook_text(text).steps
    assert isinstance(logs, KubectlStep)
    assert logs.objects == (ObjectRef("pod", "<pod-name>"),) and logs.namespace == "intelgraph-prod"
    assert listing.argv == ("kubectl", "get", "pods", "-n", "intelgraph-prod")
    assert isinstance(reset, HttpStep)
    assert reset.url == "https://svc/api/resilience/circuit-breakers/<name>/reset"
    assert filtered.argv == ("kubectl", "get", "pods", "-n", "ops")
    assert filtered.pipeline == (("grep", "-v", "Running"),)
    assert isinstance(query, HttpStep) and query.body == '{"q": "a > b"}'
    assert query.url == "https://svc/graphql"
    assert apply.argv == ("kubectl", "apply", "-f", "-")
