"""From a finished session and its Chaos Toolkit journal to a recorded, reported `DrillResult`.

Shared by `drills run` and by the control under a plain `chaos run`: compute the measurements,
hold them against the objectives, decide the verdict, then write the run folder (journal, reports)
and record the run in the history.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from drills import measure
from drills.errors import DrillError
from drills.expectations import judge_without_outage, outage_expected
from drills.history import History
from drills.models import DrillRef, DrillResult, RunStatus, Stage, TargetRef, Verdict
from drills.objectives import ObjectiveTargets, evaluate
from drills.poolwatch import peak_before
from drills.reported import with_reported
from drills.session import SessionData
from drills.verdict import decide

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


def failed_steps(data: SessionData) -> list[str]:
    """The runbook steps and checks of the method that failed.

    A steady state that deviates after the method is not among them: some drills end their
    method in a degraded but served state on purpose (after a failover the standby region is
    rebuilt by the rollbacks), and whether the service came back is what RTO measures.
    """
    return [a.name for a in data.activities if a.stage is Stage.METHOD and a.status == "failed"]


def steady_state_failed_before(journal: dict[str, Any]) -> bool:
    before = (journal.get("steady_states") or {}).get("before")
    return before is not None and not before.get("steady_state_met", True)


@dataclass(frozen=True)
class Conclusion:
    result: DrillResult
    files: list[Path]


def conclude(
    data: SessionData,
    journal: dict[str, Any],
    *,
    run_id: str,
    drill: DrillRef,
    target: TargetRef,
    run_dir: Path,
    history_path: Path | None,
    objectives: ObjectiveTargets,
    aborted_reason: str | None = None,
    notes: Sequence[str] = (),
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
    history_rtos: list[float] = []
    if history_path is not None:
        try:
            with History(history_path) as history:
                history_rtos = history.rto_seconds(drill.scenario, target.name)
        except DrillError as exc:
            logger.warning("history not read: %s", exc)
    results = evaluate(measured, objectives, history_rto_seconds=history_rtos)
    verdict, reason = decide(status, measured, results, failed_steps(data))
    judged = None
    if not outage_expected(journal.get("experiment") or {}):  # e.g. a restore test
        judged = judge_without_outage(status, measured, results)
    if judged is not None:
        results, verdict, reason = judged
    if verdict is Verdict.ABORTED and aborted_reason:  # why, on the terminal and the headline
        reason = (
            aborted_reason if aborted_reason.startswith("aborted") else f"aborted: {aborted_reason}"
        )
    all_notes = list(notes)
    if aborted_reason:
        all_notes.insert(0, aborted_reason)
    if journal.get("deviated"):
        all_notes.append("the steady state did not hold right after the method (see the journal)")
    if steady_state_failed_before(journal):
        all_notes.insert(0, "steady state did not hold before the fault: no fault was injected")
    result = DrillResult(
        run_id=run_id,
        drill=drill,
        target=target,
        anchor_utc=data.clock.anchor_utc.isoformat(),
        started_at=data.started_at,
        ended_at=data.ended_at,
        status=status,
        verdict=verdict,
        verdict_reason=reason,
        measurements=measured,
        objectives=results,
        activities=data.activities,
        notes=tuple(all_notes),
    )
    files = write_run_folder(result, data, journal, run_dir)
    if history_path is not None:
        report_path = run_dir / "report.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else None
        try:
            with History(history_path) as history:
                history.record(result, report)
        except DrillError as exc:
            logger.warning("run not recorded in history: %s", exc)
    return Conclusion(result, files)


def write_run_folder(
    result: DrillResult, data: SessionData, journal: dict[str, Any], run_dir: Path
) -> list[Path]:
    from reports import write_all

    run_dir.mkdir(parents=True, exist_ok=True)
    journal_path = run_dir / JOURNAL_FILE
    journal_path.write_text(json.dumps(journal, indent=2, default=str))
    return [journal_path, *write_all(result, data.samples, run_dir)]
