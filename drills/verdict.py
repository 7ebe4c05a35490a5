"""The verdict of a drill, and of a suite: what it proved, in one word and one line.

The one place verdicts are decided (`drills run`, a plain `chaos run` and suites all ask here).
Kept apart from the measurement so the rules are few and visible: an aborted run proves nothing
either way; a fault that never ran, or never caused a detectable failure, makes the drill invalid
(never "met": a drill that broke nothing says nothing about recovery); otherwise any objective not
met makes it "missed".

A drill whose experiment expects no outage (`outage_expected: false`, see `drills.expectations`:
a restore test that must not break the service) is judged by what it tested instead when nothing
broke: `met` when every activity succeeded and no objective was missed (recovery objectives have
nothing to measure and are not applicable), `missed` when an activity failed (that *is* the
finding). A failure that shows up anyway is judged like any other drill's.

A suite's verdict is the worst of its drills' (aborted or invalid > missed > met): one drill that
proved nothing fails the suite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from drills.measure import NO_DETECTABLE_FAILURE, NO_FAULT
from drills.models import Measurements, ObjectiveResult, RunStatus, Verdict
from drills.numbers import fmt_value

__all__ = [
    "NOT_APPLICABLE",
    "Judgement",
    "decide",
    "describe",
    "judge",
    "judge_without_outage",
    "suite_verdict",
]

NOT_APPLICABLE = "not applicable: no outage expected and none seen"
_SUITE_RANK = {Verdict.MET: 0, Verdict.MISSED: 1, Verdict.INVALID: 2, Verdict.ABORTED: 2}


HEADLINE_OBJECTIVES = ("rto", "rpo")  # named in a "met" reason; the others are counted


def describe(result: ObjectiveResult) -> str:
    """One objective as text, rounded: "rto 16 min 53 s (objective <= 15 min 00 s)"."""
    objective = f"objective {result.comparison.value} {fmt_value(result.threshold, result.unit)}"
    if result.measured is None:
        why = f": {result.reason}" if result.reason else ""
        return f"{result.name} not measured{why} ({objective})"
    return f"{result.name} {fmt_value(result.measured, result.unit)} ({objective})"


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
    named = [o for o in met if o.name in HEADLINE_OBJECTIVES] or met
    others = len(met) - len(named)
    parts = [describe(o) for o in named]
    if others:
        parts.append(f"{others} other objective{'s' if others > 1 else ''} met")
    return Verdict.MET, "met: " + "; ".join(parts)


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


@dataclass(frozen=True)
class Judgement:
    """A drill's verdict, its one-line reason and the objectives as they were judged."""

    verdict: Verdict
    reason: str
    objectives: tuple[ObjectiveResult, ...]


def judge(
    status: RunStatus,
    m: Measurements,
    objectives: Sequence[ObjectiveResult],
    failed_steps: Sequence[str] = (),
    *,
    fault_note: str | None = None,
    outage_expected: bool = True,
    aborted_reason: str | None = None,
) -> Judgement:
    """The verdict of a finished drill: `decide`, or `judge_without_outage` for an experiment
    that expects no outage; an aborted drill's reason says why it was aborted."""
    if not outage_expected:
        quiet = judge_without_outage(status, m, objectives)
        if quiet is not None:
            return Judgement(quiet[1], quiet[2], quiet[0])
    verdict, reason = decide(status, m, objectives, failed_steps, fault_note)
    if verdict is Verdict.ABORTED and aborted_reason:  # why, on the terminal and the headline
        reason = (
            aborted_reason if aborted_reason.startswith("aborted") else f"aborted: {aborted_reason}"
        )
    return Judgement(verdict, reason, tuple(objectives))


def suite_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of the drills' verdicts; `invalid` for a suite in which no drill ran."""
    found = list(verdicts)
    if not found:
        return Verdict.INVALID
    return max(found, key=lambda v: _SUITE_RANK[v])
