"""The verdicts that protect users from false comfort: missed, invalid, aborted (and why)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from drills.catalog import EXPERIMENTS_DIR
from drills.errors import ExitCode
from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def drills_run(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DRILLS_HOME": str(tmp_path / "home"),
        "DRILLS_BASELINE": "1",
        "DRILLS_OBSERVE_AFTER": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "drills", "run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def profile(tmp_path: Path, target: SandboxTarget, **objectives: object) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "kind": "sandbox",
                "name": "test",
                "state_dir": str(target.sandbox.layout.root),
                "objectives": objectives,
            }
        )
    )
    return path


def test_a_missed_objective_exits_1(sandbox_target: SandboxTarget, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = drills_run(
        tmp_path,
        "complete-outage",
        "--target",
        str(profile(tmp_path, sandbox_target, p95_latency_seconds=0.0001)),
        "--out",
        str(out),
    )
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == ExitCode.MISSED, stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "missed"
    p95 = next(o for o in report["objectives"] if o["name"] == "p95_steady")
    assert p95["threshold"] == 0.0001 and p95["met"] is False and p95["margin"] < 0
    assert "p95_steady" in report["verdict_reason"]
    assert sandbox_target.status()["running"]


def test_a_fault_nobody_notices_is_invalid(sandbox_target: SandboxTarget, tmp_path: Path) -> None:
    experiment = yaml.safe_load((EXPERIMENTS_DIR / "complete-outage.yaml").read_text())
    # the fault now kills only the standby: no critical signal fails, so the drill proves nothing
    fault, *steps = experiment["method"]
    fault["provider"]["arguments"] = {"components": ["postgres-standby"]}
    experiment["method"] = [fault, *(s for s in steps if s["name"] == "verify-core-functionality")]
    path = tmp_path / "quiet-fault.yaml"
    path.write_text(yaml.safe_dump(experiment))
    out = tmp_path / "run"
    proc = drills_run(
        tmp_path,
        str(path),
        "--target",
        f"sandbox:{sandbox_target.sandbox.layout.root}",
        "--out",
        str(out),
    )
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == ExitCode.ABORTED, stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "invalid"
    assert report["measurements"]["detected_at"] is None
    assert "detectable" in report["verdict_reason"]
    sandbox_target.restart(Component.POSTGRES_STANDBY)


def test_ctrl_c_rolls_back_and_keeps_the_timeline(
    sandbox_target: SandboxTarget, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    proc = drills_run(
        tmp_path,
        "complete-outage",
        "--target",
        f"sandbox:{sandbox_target.sandbox.layout.root}",
        "--out",
        str(out),
    )
    timeline = out / "timeline.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if timeline.exists() and '"fault"' in timeline.read_text():
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the fault never started")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == ExitCode.ABORTED, stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "aborted"
    journal = json.loads((out / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["ensure-everything-runs"]
    samples = [json.loads(line) for line in timeline.read_text().splitlines()]
    assert sum(1 for s in samples if s["type"] == "sample") > 20
    assert sandbox_target.status()["running"]  # the rollback brought everything back


def test_past_twice_the_rto_objective_aborts_and_restores(
    sandbox_target: SandboxTarget, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    path = profile(tmp_path, sandbox_target, rto_seconds=0.2)
    proc = drills_run(tmp_path, "complete-outage", "--target", str(path), "--out", str(out))
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == ExitCode.ABORTED, stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "aborted"
    assert any("twice the RTO objective" in note for note in report["notes"])
    assert sandbox_target.status()["running"]
