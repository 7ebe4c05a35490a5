"""From a finished session and its Chaos Toolkit journal to a recorded, reported `DrillResult`.

Shared by `drills run` and by the control under a plain `chaos run`: compute the measurements,
hold them against the objectives, ask `drills.verdict` for the verdict, then write the run folder
(journal, reports) and record the run, with its report document, in the history.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from drills import measure
from drills.activity_measurements import with_reported
from drills.errors import DrillError
from drills.expectations import EXTENSION_NAME, outage_expected
from drills.experiment import fault_choice
from drills.history import History
from drills.models import DrillRef, DrillResult, RunStatus, Stage, TargetRef, Verdict
from drills.monitoring.observed import ObservedAlerts
from drills.objectives import ObjectiveTargets, evaluate
from drills.poolwatch import peak_before
from drills.reports.json_report import build_report
from drills.session import SessionData
from drills.trend import history_position
from drills.verdict import judge

logger = logging.getLogger("drills")

JOURNAL_FILE = "journal.json"


def run_status(journal: dict[str, Any], aborted: bool = False) -> RunStatus:
    """How the run went, judged from the activities themselves, not chaoslib's exit status."""
    if aborted or journal.get("status") in ("interrupted", "aborted"):
        return RunStatus.ABORTED
    if steady_state_failed_before(journal):
        return RunStatus.FAILED
    if any(run.get("status") == "failed" for run in journal.get("run") or []):
        return RunStatus.FAILED
    return RunStatus.COMPLETED


def failed_steps(data: SessionData, journal: dict[str, Any]) -> list[str]:
    """The runbook steps and checks of the method that failed, and the experiment's own criterion:
    a steady-state hypothesis that deviated after (or during) the method, as Chaos Toolkit judges
    it. A drill whose system is degraded on purpose when its method ends (a failover leaves no
    standby until the rollbacks fail back) says so with `runtime.hypothesis.strategy:
    before-method-only`, as it would for `chaos run`.
    """
    failed = [a.name for a in data.activities if a.stage is Stage.METHOD and a.status == "failed"]
    if journal.get("deviated") and not steady_state_failed_before(journal):
        failed.append("the steady-state hypothesis after the method")
    return failed


def steady_state_failed_before(journal: dict[str, Any]) -> bool:
    before = (journal.get("steady_states") or {}).get("before")
    return before is not None and not before.get("steady_state_met", True)


@dataclass(frozen=True)
class Conclusion:
    result: DrillResult
    data: SessionData  # what was measured, as concluded from (a scorecard reads it again)
    files: list[Path]
    unwritten: str | None = None  # why the run folder could not be written (a full disk)
    unrecorded: str | None = None  # why the history could not record the run (its folder kept)


def conclude(
    data: SessionData,
    journal: dict[str, Any],
    *,
    run_id: str,
    drill: DrillRef,
    target: TargetRef,
    run_dir: Path,
    history_path: Path | str | None,
    objectives: ObjectiveTargets,
    aborted_reason: str | None = None,
    notes: Sequence[str] = (),
    invocation_id: str | None = None,
    alerts: ObservedAlerts | None = None,
) -> Conclusion:
    status = run_status(journal, aborted=aborted_reason is not None)
    measured = measure.compute(
        data.samples,
        data.activities,
        data.canary,
        started_at=data.started_at,
        ended_at=data.ended_at,
    )
    measured = with_reported(measured, journal)  # measurements activities took themselves
    peak = peak_before(data.pool_readings, measured.fault_at)
    if peak is not None and "db_pool_peak_utilisation" not in measured.extra:
        # the runbook's "DB connections < 80 % of pool", judged in steady state
        measured = replace(measured, extra={**measured.extra, "db_pool_peak_utilisation": peak})
    if data.canary is not None:
        # ticks at which every canary sender was still busy: writes an overloaded target
        # never even received (neither acknowledged nor failed)
        measured = replace(
            measured, extra={**measured.extra, "canary_writes_skipped": data.canary.skipped}
        )
    alerts_note = None
    if alerts is not None and not any(key.startswith("alert_") for key in measured.extra):
        # the monitoring drill reports its own alert lanes; every other drill gets them here
        fault_at = None if measured.fault_at is None else data.clock.to_utc(measured.fault_at)
        measured = replace(measured, extra={**measured.extra, **alerts.measurements(fault_at)})
        alerts_note = alerts.summary(fault_at)
    history_rtos: list[float] = []
    position = None
    if history_path is not None:
        try:
            with History(history_path) as history:
                history_rtos = history.rto_seconds(drill.scenario, target.name)
                started = data.clock.to_utc(data.started_at)
                position = history_position(
                    history, drill.scenario, target.kind, started, measured.rto_seconds
                )
        except DrillError as exc:
            logger.warning("history not read: %s", exc)
    experiment = journal.get("experiment") or {}
    chosen = fault_choice(experiment)
    judged = judge(
        status,
        measured,
        evaluate(measured, objectives, history_rto_seconds=history_rtos),
        failed_steps(data, journal),
        fault_note=chosen,
        outage_expected=outage_expected(experiment),
        aborted_reason=aborted_reason,
    )
    all_notes = list(notes)
    if aborted_reason:
        all_notes.insert(0, aborted_reason)
    if steady_state_failed_before(journal):
        all_notes.insert(0, "steady state did not hold before the fault: no fault was injected")
    if chosen:
        all_notes.append(chosen)
    if alerts_note is not None:
        all_notes.append(alerts_note)
    if position is not None:
        all_notes.append(position)
    result = DrillResult(
        run_id=run_id,
        drill=drill,
        target=target,
        anchor_utc=data.clock.anchor_utc.isoformat(),
        started_at=data.started_at,
        ended_at=data.ended_at,
        status=status,
        verdict=judged.verdict,
        verdict_reason=judged.reason,
        measurements=measured,
        objectives=judged.objectives,
        activities=data.activities,
        notes=tuple(all_notes),
    )
    report = build_report(result, data.samples)  # report.json's document, kept in memory
    record_in_journal(journal, result, report, run_dir)
    files: list[Path] = []
    unwritten = None
    try:
        files = write_run_folder(result, data, journal, run_dir)
    except OSError as exc:  # the verdict stands; the caller says it and that the files are missing
        unwritten = f"the run folder {run_dir} could not be written ({exc.strerror or exc})"
        logger.warning("%s", unwritten)
    unrecorded = None
    if history_path is not None:
        try:
            with History(history_path) as history:
                history.record(result, report, run_dir=run_dir, invocation_id=invocation_id)
        except (DrillError, OSError, sqlite3.Error) as exc:  # a full disk too
            logger.warning("run not recorded in history: %s", exc)
            where = str(exc) if isinstance(exc, DrillError) else f"history: {exc}"
            unrecorded = f"the run was not recorded in {where}; its run folder is kept: {run_dir}"
    return Conclusion(result, data, files, unwritten, unrecorded)


def record_in_journal(
    journal: dict[str, Any], result: DrillResult, report: dict[str, Any], run_dir: Path
) -> None:
    """Put the verdict, the measurements (as `report.json` has them) and the run folder into the
    journal's `extensions` (Chaos Toolkit's place for a tool's own results), and mark the journal
    deviated unless the drill met its objectives: `chaos run` then exits non-zero exactly when
    `drills run` does."""
    extensions = [
        e
        for e in journal.get("extensions") or []
        if not (isinstance(e, dict) and e.get("name") == EXTENSION_NAME)
    ]
    extensions.append(
        {
            "name": EXTENSION_NAME,
            "run_id": result.run_id,
            "verdict": result.verdict.value,
            "verdict_reason": result.verdict_reason,
            "run_dir": str(run_dir),
            "measurements": report["measurements"],
        }
    )
    journal["extensions"] = extensions
    if result.verdict is not Verdict.MET:
        journal["deviated"] = True


def write_run_folder(
    result: DrillResult, data: SessionData, journal: dict[str, Any], run_dir: Path
) -> list[Path]:
    from drills.reports import write_all

    run_dir.mkdir(parents=True, exist_ok=True)
    journal_path = run_dir / JOURNAL_FILE
    journal_path.write_text(json.dumps(journal, indent=2, default=str))
    return [journal_path, *write_all(result, data.samples, run_dir, canary=data.canary)]
