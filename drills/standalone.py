"""Measuring under a plain `chaos run`: the control opens the target and the run folder itself.

`chaos run --rollback-strategy always experiments/complete-outage.yaml` with DRILLS_TARGET set to
a running target (`sandbox:DIR` or a profile) measures exactly like `drills run`, writing the run
folder to DRILLS_OUT (default: a new folder under DRILLS_HOME/runs). It runs the same
`DrillLifecycle` as `drills run`: the target's drill lock for the whole run (a target another
drill holds is refused before anything is injected), the watchdog at twice the RTO objective, the
cluster watch on Kubernetes, and interrupts held off while the run folder is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from drills.experiment import FaultChoice, apply_fault_choice
from drills.lifecycle import DrillLifecycle, new_run_id, objectives_for
from drills.models import DrillRef, TargetRef
from drills.objectives import ObjectiveTargets
from drills.runfolder import prepare_run_folder
from drills.settings import Settings
from drills.targets.registry import parse_spec, target_from

__all__ = ["StandaloneRun", "finish_standalone", "start_standalone"]

# what a person running `chaos run` must see (the verdict, where the reports are) goes where Chaos
# Toolkit's own lines go: its console and its log file
console = logging.getLogger("chaostoolkit")


@dataclass(frozen=True)
class StandaloneRun:
    """A drill the control runs under a plain `chaos run`, from its first hook to its last."""

    lifecycle: DrillLifecycle
    scenario: str
    fault: FaultChoice


def _scenario(experiment: dict[str, Any], scenario: str | None) -> str:
    return scenario or _slug(str(experiment.get("title", "experiment")))


def start_standalone(
    experiment: dict[str, Any],
    configuration: dict[str, Any] | None,
    scenario: str | None,
    fault: FaultChoice,
) -> StandaloneRun:
    """Lock the target, start measuring and take the steady-state baseline (DrillError when the
    target or the run folder cannot be used: nothing has been injected)."""
    settings = Settings.from_environ()
    target = target_from(configuration)
    name = _scenario(experiment, scenario)
    run_id = new_run_id(name)
    folder = (  # a file, an unwritable or an earlier run's folder is refused (InputError)
        prepare_run_folder(settings.out, "DRILLS_OUT")
        if settings.out is not None
        else prepare_run_folder(settings.home / "runs" / run_id, "run folder")
    )
    lifecycle = DrillLifecycle(
        target, settings, _objectives(settings), run_id=run_id, run_dir=folder.path.resolve()
    )
    try:
        lifecycle.lock()
        lifecycle.start()
        console.info("drills: measuring into %s", lifecycle.run_dir)
        lifecycle.baseline()  # a steady-state baseline, as `drills run` measures
    except BaseException:  # refused, or Ctrl-C before the experiment: nothing was injected
        lifecycle.abandon()
        lifecycle.release()
        folder.remove_if_unused()  # a refusal leaves no empty run folder behind
        raise
    return StandaloneRun(lifecycle, name, fault)


def finish_standalone(
    run: StandaloneRun, experiment: dict[str, Any], journal: dict[str, Any]
) -> None:
    """Observe the aftermath, conclude, write the run folder and history, release the target."""
    lifecycle = run.lifecycle
    try:
        aborted_reason = lifecycle.observe_after()  # enough samples to see the recovery hold
        ran = journal.get("experiment")
        if isinstance(ran, dict):  # the journal says which activity was taken as the fault, and why
            apply_fault_choice(ran, run.fault)
        target = lifecycle.target
        conclusion = lifecycle.finish(
            journal,
            drill=DrillRef(
                run.scenario, str(experiment.get("title", "experiment")), "(plain chaos run)"
            ),
            target=TargetRef(target.name, target.kind, target.control_plane_url),
            aborted_reason=aborted_reason,
        )
    finally:
        lifecycle.release()
    result = conclusion.result
    console.info(
        "drills: verdict %s (%s); reports in %s",
        result.verdict.value,
        result.verdict_reason,
        lifecycle.run_dir,
    )


def _objectives(settings: Settings) -> ObjectiveTargets:
    """The target profile's objectives, as `drills run` would hold the drill to them."""
    return objectives_for(parse_spec(settings.target)) if settings.target else ObjectiveTargets()


def _slug(text: str) -> str:
    return (
        "-".join("".join(c.lower() if c.isalnum() else " " for c in text).split())[:60] or "drill"
    )
