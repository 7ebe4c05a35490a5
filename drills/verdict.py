"""The verdict of a drill: what it proved, in one word and one line.

Kept apart from the measurement so the rules are few and visible: an aborted run proves nothing
either way; a fault that never ran, or never caused a detectable failure, makes the drill invalid
(never "met": a drill that broke nothing says nothing about recovery); otherwise any objective not
met makes it "missed".
"""

from __future__ import annotations

from collections.abc import Sequence

from drills.measure import NO_DETECTABLE_FAILURE, NO_FAULT
from drills.models import Measurements, ObjectiveResult, RunStatus, Verdict

__all__ = ["decide", "describe"]


def _number(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value * 100:.4g}%"
    if unit == "count":
        return f"{value:g}"
    return f"{value:.6g} {unit}".rstrip()


def describe(result: ObjectiveResult) -> str:
    """One objective as text, e.g. "rto 1012.5 s (objective <= 900 s)"."""
    objective = f"objective {result.comparison.value} {_number(result.threshold, result.unit)}"
    if result.measured is None:
        why = f": {result.reason}" if result.reason else ""
        return f"{result.name} not measured{why} ({objective})"
    return f"{result.name} {_number(result.measured, result.unit)} ({objective})"


def decide(
    status: RunStatus,
    m: Measurements,
    objectives: Sequence[ObjectiveResult],
    failed_steps: Sequence[str] = (),
    fault_note: str | None = None,
) -> tuple[Verdict, str]:
    """The verdict and a one-line reason for it.

    `failed_steps` names the experiment's own checks and recovery steps that failed (a breaker
    that did not open, a restore that did not validate, a steady state that deviated after the
    drill): a drill whose runbook step failed missed, whatever the numbers say. `fault_note` says
    which activity was taken as the fault when none was tagged; an invalid verdict names it.
    """
    if status is RunStatus.ABORTED:
        return Verdict.ABORTED, "the drill was aborted before it finished"
    why = f" ({fault_note})" if fault_note else ""
    if m.fault_at is None:
        return Verdict.INVALID, NO_FAULT + why
    if m.detected_at is None:
        return Verdict.INVALID, f"{NO_DETECTABLE_FAILURE}: the drill proves nothing{why}"
    missed = [o for o in objectives if o.met is False]
    if missed or failed_steps:
        parts = [f"{step} failed" for step in failed_steps] + [describe(o) for o in missed]
        return Verdict.MISSED, "missed: " + "; ".join(parts)
    met = [o for o in objectives if o.met is True]
    if not met:
        return Verdict.MET, "no objective could be evaluated"
    return Verdict.MET, "met: " + "; ".join(describe(o) for o in met)
