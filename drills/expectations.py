"""What an experiment declares about itself to drills: its `drills` extension.

Chaos Toolkit keeps tool-specific data of an experiment in `extensions`, a list of mappings each
with a `name`. Drills reads the one named `drills`:

    extensions:
      - name: drills
        outage_expected: false

`outage_expected: false` is for drills whose fault is a test that must not break the service (the
backup-restore test restores into a scratch instance while the system keeps serving). The engine's
rule that a fault without a detectable failure proves nothing (`invalid`) does not fit them: such a
drill is judged by what it tested instead - `met` when every activity succeeded and no objective
was missed (recovery objectives have nothing to measure and are not applicable), `missed` when an
activity failed (the restore did not verify: that *is* the finding).
A failure that shows up anyway is measured and judged like any other drill's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from drills.models import Measurements, ObjectiveResult, RunStatus, Verdict
from drills.verdict import describe

__all__ = ["EXTENSION_NAME", "NOT_APPLICABLE", "judge_without_outage", "outage_expected"]

EXTENSION_NAME = "drills"
NOT_APPLICABLE = "not applicable: no outage expected and none seen"


def _extension(experiment: Mapping[str, Any]) -> Mapping[str, Any]:
    for entry in experiment.get("extensions") or []:
        if isinstance(entry, Mapping) and entry.get("name") == EXTENSION_NAME:
            return entry
    return {}


def outage_expected(experiment: Mapping[str, Any]) -> bool:
    """False only when the experiment says so (`outage_expected: false`)."""
    return _extension(experiment).get("outage_expected", True) is not False


def judge_without_outage(
    status: RunStatus, m: Measurements, objectives: Sequence[ObjectiveResult]
) -> tuple[tuple[ObjectiveResult, ...], Verdict, str] | None:
    """Objectives and verdict of a drill that expects no outage, or None where the usual rules
    apply (aborted, no fault ran, or a failure was detected after all).

    Recovery objectives (RTO, MTTR) have nothing to measure when nothing broke: they become not
    applicable (met None) instead of missed."""
    if status is RunStatus.ABORTED or m.fault_at is None or m.detected_at is not None:
        return None
    results = tuple(
        replace(o, met=None, reason=NOT_APPLICABLE) if o.measured is None else o for o in objectives
    )
    if status is RunStatus.FAILED:
        reason = "missed: an activity of the experiment failed (see the journal)"
        return results, Verdict.MISSED, reason
    missed = [o for o in results if o.met is False]
    if missed:
        return results, Verdict.MISSED, "missed: " + "; ".join(describe(o) for o in missed)
    met = [o for o in results if o.met is True]
    reason = "met: no outage expected and none seen"
    if met:
        reason += "; " + "; ".join(describe(o) for o in met)
    return results, Verdict.MET, reason
