"""A drills experiment under plain `chaos run` is measured too: the control does it all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drills.catalog import EXPERIMENTS_DIR
from drills.targets.sandbox.driver import SandboxTarget

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_chaos_run_writes_a_measured_report(sandbox_target: SandboxTarget, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {
        **os.environ,
        "DRILLS_HOME": str(tmp_path / "home"),
        "DRILLS_OUT": str(out),
        "DRILLS_TARGET": f"sandbox:{sandbox_target.sandbox.layout.root}",
    }
    chaos = Path(sys.executable).with_name("chaos")
    done = subprocess.run(
        [
            str(chaos),
            "--no-version-check",
            "--log-file",
            str(tmp_path / "chaos.log"),
            "run",
            "--rollback-strategy",
            "always",
            str(EXPERIMENTS_DIR / "complete-outage.yaml"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["drill"]["scenario"] == "complete-outage"
    assert report["verdict"] == "met", report["verdict_reason"]
    assert report["measurements"]["rto_seconds"] > 0
    assert report["measurements"]["writes_lost"] == 0
    assert (out / "report.html").exists() and (out / "junit.xml").exists()
    assert sandbox_target.status()["running"]
