"""Checks that need no target: objectives against a profile's, scripts on disk."""

from __future__ import annotations

from pathlib import Path

from drills.objectives import ObjectiveTargets
from drills.runbook import Runbook
from drills.runbook.findings import Status
from drills.runbook.local import check_objective, check_script
from drills.runbook.steps import ScriptStep


def test_objectives_that_differ_from_the_profile_are_drift(runbook: Runbook) -> None:
    profile = ObjectiveTargets.from_mapping({"rto_seconds": "10m", "error_rate": "2%"})
    answers = {
        o.field: check_objective(o, profile, "profile") for o in runbook.objectives if o.field
    }
    drifted = sorted(f for f, a in answers.items() if a.status is Status.DRIFT)
    assert drifted == ["error_rate", "rto_seconds"]
    assert answers["rto_seconds"].detail == "rto_seconds: runbook 900 s, profile 600 s"
    mtbf = next(o for o in runbook.objectives if o.label.startswith("MTBF"))
    assert check_objective(mtbf, profile, "profile").status is Status.CANNOT_CHECK


def test_scripts_run_through_a_shell_need_not_be_executable(
    runbook: Runbook, tmp_path: Path
) -> None:
    script = next(s for s in runbook.steps if isinstance(s, ScriptStep))
    path = tmp_path / script.path
    path.parent.mkdir(parents=True)
    path.write_text("echo hi\n")
    assert check_script(script, tmp_path).status is Status.DRIFT  # ./x.sh needs +x
    via_bash = ScriptStep(
        script.origin, f"bash {script.path}", ("bash", script.path), path=script.path
    )
    assert check_script(via_bash, tmp_path).status is Status.OK
    renamed = tmp_path / "scripts/ops/production-readiness.sh"
    path.rename(renamed)
    answer = check_script(script, tmp_path)
    assert answer.status is Status.DRIFT
    assert answer.suggestion == "scripts/ops/production-readiness.sh"
    assert check_script(script, None).status is Status.CANNOT_CHECK
