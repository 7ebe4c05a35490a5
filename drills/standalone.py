"""Measuring under a plain `chaos run`: the control opens the target and the run folder itself.

`chaos run --rollback-strategy always experiments/complete-outage.yaml` with DRILLS_TARGET set to
a running target (`sandbox:DIR` or a profile) measures exactly like `drills run`, writing the run
folder to DRILLS_OUT (default: a new folder under DRILLS_HOME/runs).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from drills.models import DrillRef, TargetRef
from drills.objectives import ObjectiveTargets
from drills.outcome import conclude
from drills.runfolder import prepare_run_folder
from drills.session import MeasurementSession
from drills.settings import Settings
from drills.targets.registry import target_from

# what a person running `chaos run` must see (the verdict, where the reports are) goes where Chaos
# Toolkit's own lines go: its console and its log file
console = logging.getLogger("chaostoolkit")


def _scenario(experiment: dict[str, Any], scenario: str | None) -> str:
    return scenario or _slug(str(experiment.get("title", "experiment")))


def start_standalone_session(
    experiment: dict[str, Any], configuration: dict[str, Any] | None, scenario: str | None = None
) -> MeasurementSession:
    from drills.runner import new_run_id

    settings = Settings.from_environ()
    target = target_from(configuration)
    run_id = new_run_id(_scenario(experiment, scenario))
    folder = (  # a file, an unwritable or an earlier run's folder is refused (InputError)
        prepare_run_folder(settings.out, "DRILLS_OUT")
        if settings.out is not None
        else prepare_run_folder(settings.home / "runs" / run_id, "run folder")
    )
    run_dir = folder.path.resolve()
    session = MeasurementSession(
        target,
        run_dir,
        run_id,
        sample_interval_seconds=settings.sample_interval_seconds,
        canary_rate=settings.canary_rate,
    )
    session.start()
    console.info("drills: measuring into %s", run_dir)
    time.sleep(settings.baseline_seconds)  # a steady-state baseline, as `drills run` measures
    return session


def finish_standalone_session(
    session: MeasurementSession,
    experiment: dict[str, Any],
    journal: dict[str, Any],
    scenario: str | None = None,
) -> None:
    settings = Settings.from_environ()
    time.sleep(settings.observe_after_seconds)  # enough samples to see the recovery hold
    data = session.stop()
    from drills.experiment import designate_fault

    ran = journal.get("experiment")
    if isinstance(ran, dict):
        designate_fault(ran)  # the journal says which activity was taken as the fault, and why
    title = str(experiment.get("title", "experiment"))
    target = session.target
    conclusion = conclude(
        data,
        journal,
        run_id=session.run_id,
        drill=DrillRef(_scenario(experiment, scenario), title, "(plain chaos run)"),
        target=TargetRef(target.name, target.kind, target.control_plane_url),
        run_dir=session.run_dir,
        history_path=settings.history,
        objectives=_objectives(settings),
    )
    result = conclusion.result
    console.info(
        "drills: verdict %s (%s); reports in %s",
        result.verdict.value,
        result.verdict_reason,
        session.run_dir,
    )


def _objectives(settings: Settings) -> ObjectiveTargets:
    """The target profile's objectives, as `drills run` would hold the drill to them."""
    from drills.runner import objectives_for
    from drills.targets.registry import parse_spec

    return objectives_for(parse_spec(settings.target)) if settings.target else ObjectiveTargets()


def _slug(text: str) -> str:
    return (
        "-".join("".join(c.lower() if c.isalnum() else " " for c in text).split())[:60] or "drill"
    )
