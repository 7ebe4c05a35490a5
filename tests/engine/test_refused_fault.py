"""A fault the target refused (an RBAC 403) injected nothing: the drill has no RTO, whatever
outage a later recovery step caused."""

from __future__ import annotations

from dataclasses import replace

from drills import measure
from drills.models import RunStatus, Verdict
from drills.verdict import decide
from tests.engine.builders import fault_mark, grid, method_mark


def test_a_failed_fault_step_is_no_fault_and_a_recovery_step_outage_is_no_rto() -> None:
    refused = replace(fault_mark(2.0, 2.1, name="crash-control-plane"), status="failed")
    restart = replace(method_mark(3.0, 8.0, name="rollout-restart"), status="succeeded")
    samples = grid("health", 0.0, 12.0, 0.1, down=[(4.0, 6.0)])  # the restart's own blip

    m = measure.compute(samples, [refused, restart], None, started_at=0.0, ended_at=12.0)

    assert m.fault_at is None and m.rto_seconds is None and m.recovered_at is None
    assert "crash-control-plane" in m.unmeasured["fault_at"]
    assert "refused" in m.unmeasured["fault_at"]
    verdict, reason = decide(RunStatus.COMPLETED, m, [])
    assert verdict is Verdict.INVALID and reason == measure.NO_FAULT


def test_a_fault_step_that_succeeded_still_counts() -> None:
    fault = replace(fault_mark(2.0, 2.1), status="succeeded")
    samples = grid("health", 0.0, 12.0, 0.1, down=[(2.05, 6.0)])

    m = measure.compute(samples, [fault], None, started_at=0.0, ended_at=12.0)

    assert m.fault_at == 2.0 and m.rto_seconds is not None and abs(m.rto_seconds - 4.0) < 0.11
