"""A drills experiment under plain `chaos run` is measured too: the control does it all.

And it is held to the same safety rules as `drills run` (one `DrillLifecycle`): a target another
drill holds is refused before anything is injected, and a drill still down at twice its RTO
objective is ended, its rollbacks run and its verdict aborted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drills.catalog import EXPERIMENTS_DIR
from drills.targets.sandbox.driver import SandboxTarget

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def chaos_run(
    experiment: Path, tmp_path: Path, target: str, out: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """`chaos run --rollback-strategy always EXPERIMENT` measuring into `out`."""
    environ = {
        **os.environ,
        "DRILLS_HOME": str(tmp_path / "home"),
        "DRILLS_OUT": str(out),
        "DRILLS_TARGET": target,
        **env,
    }
    chaos = Path(sys.executable).with_name("chaos")
    return subprocess.run(
        [
            str(chaos),
            "--no-version-check",
            "--log-file",
            str(tmp_path / "chaos.log"),
            "run",
            "--journal-path",
            str(tmp_path / "journal.json"),
            "--rollback-strategy",
            "always",
            str(experiment),
        ],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_chaos_run_writes_a_measured_report(sandbox_target: SandboxTarget, tmp_path: Path) -> None:
    out = tmp_path / "run"
    target = f"sandbox:{sandbox_target.sandbox.layout.root}"
    done = chaos_run(EXPERIMENTS_DIR / "complete-outage.yaml", tmp_path, target, out)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["drill"]["scenario"] == "complete-outage"
    assert report["verdict"] == "met", report["verdict_reason"]
    assert report["measurements"]["rto_seconds"] > 0
    assert report["measurements"]["writes_lost"] == 0
    assert (out / "report.html").exists() and (out / "junit.xml").exists()
    assert sandbox_target.status()["running"]


def test_a_target_another_drill_holds_is_refused_before_any_fault(
    sandbox_target: SandboxTarget, tmp_path: Path
) -> None:
    """The lock `drills run` holds for its whole run (here held by this test, as a drill would)."""
    out = tmp_path / "run"
    target = f"sandbox:{sandbox_target.sandbox.layout.root}"
    pids = {name: c["pids"] for name, c in sandbox_target.status()["components"].items()}
    with sandbox_target.drill_lock():
        done = chaos_run(EXPERIMENTS_DIR / "complete-outage.yaml", tmp_path, target, out)
    assert done.returncode == 1, done.stderr[-2000:]  # chaos: the experiment did not complete
    log = (tmp_path / "chaos.log").read_text()
    assert "drills: refused:" in log and "drill" in log
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert not journal.get("run") and not journal.get("rollbacks")  # nothing injected or undone
    assert not out.exists() or not any(out.iterdir())  # no measurement, no half a run folder
    assert sandbox_target.status()["running"]
    after = {name: c["pids"] for name, c in sandbox_target.status()["components"].items()}
    assert after == pids  # not one server was killed


def test_past_twice_the_rto_objective_a_plain_chaos_run_aborts_and_restores(
    sandbox_target: SandboxTarget, tmp_path: Path
) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "kind": "sandbox",
                "name": "strict",
                "state_dir": str(sandbox_target.sandbox.layout.root),
                "objectives": {"rto_seconds": 0.2},
            }
        )
    )
    out = tmp_path / "run"
    done = chaos_run(
        EXPERIMENTS_DIR / "complete-outage.yaml",
        tmp_path,
        str(profile),
        out,
        DRILLS_BASELINE="1",
        DRILLS_OBSERVE_AFTER="1",
    )
    assert done.returncode == 1, done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "aborted", report["verdict_reason"]
    assert "twice the RTO objective" in report["verdict_reason"]
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert journal["rollbacks"]  # ended in the method, the rollbacks still ran
    assert sandbox_target.status()["running"]
