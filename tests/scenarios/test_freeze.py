"""A hang measured for real: every control-plane replica SIGSTOP'd for a known time.

A frozen server accepts connections and answers nothing until the thaw, so probes hang until
their timeout. Detection can only be known at that timeout, and recovery is when the server
answered again, not when a probe that sat in its queue was sent. The fault also waits 4 s
(`pauses.before`), which is not fault time. The upper bounds leave room for a busy machine (the
thawed replicas first work through the requests queued while they were frozen); each bound still
fails the definitions this test pins: RTO timed from sends (short by up to the probe timeout),
TTD timed from sends (near 0), the pause counted as fault time (4 s too long).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drills.errors import ExitCode
from tests.scenarios.conftest import DrillFn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXPERIMENT = Path(__file__).parent / "experiments" / "control-plane-freeze.yaml"
CHECK_TIMEOUT = 0.5  # the sampler's per-probe timeout
INTERVAL = 0.1


def test_a_freeze_is_timed_from_the_answers_not_the_sends(run_drill: DrillFn) -> None:
    outcome, report = run_drill(str(EXPERIMENT))
    assert outcome.exit_code == ExitCode.MET, report["verdict_reason"]
    assert outcome.run_dir is not None
    journal = json.loads((outcome.run_dir / "journal.json").read_text())
    frozen = journal["run"][0]["output"]["frozen_seconds"]
    m = report["measurements"]
    # recovery: not before the thaw (a probe sent into the frozen queue proves nothing until it
    # is answered), and within one interval plus the backlog the thawed replicas work through
    assert frozen - INTERVAL <= m["rto_seconds"] <= frozen + 3.0, (frozen, m)
    # detection: the first hung probe is known to have failed only at its timeout. It may have
    # been sent a little before the fault and still been waiting for its answer when the replicas
    # froze (0.36 s seen on a busy machine); timed from sends it would be near 0 (0.08 s, the bug)
    assert CHECK_TIMEOUT / 2 <= m["time_to_detect_seconds"] <= CHECK_TIMEOUT + 2.0, m
    # the 4 s pause before the fault action is not fault time
    assert m["rto_seconds"] < frozen + 4.0
    # probes kept going out on schedule while the service hung
    assert m["resolution_seconds"] <= 2.5 * INTERVAL, m
    assert m["writes_lost"] == 0
