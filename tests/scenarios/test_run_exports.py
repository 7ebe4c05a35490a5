"""`drills run` as another tool sees it: a real drill on a fresh sandbox, run through the CLI with
`--json`, `--metrics-textfile` and `--pushgateway` (a recording server on loopback).

stdout must hold exactly one JSON object (progress goes to stderr); the textfile and the pushed
body must parse with prometheus_client's parser and hold the five series of the run; the report
shows the canary lane drawn from the real canary; `drills history --json` points at the run folder.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drills.errors import ExitCode
from drills.metrics import RUN_SERIES
from tests.drills_process import run_drills
from tests.pushgateway import recording_pushgateway

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _drills(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_drills(*args, home=home, timeout=240)


def _series(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_run_json_metrics_textfile_and_push(tmp_path: Path) -> None:
    home, out, textfile = tmp_path / "home", tmp_path / "run", tmp_path / "drills.prom"
    with recording_pushgateway() as gateway:
        done = _drills(
            "run",
            "complete-outage",
            "--out",
            str(out),
            "--json",
            "--metrics-textfile",
            str(textfile),
            "--pushgateway",
            gateway.url,
            home=home,
        )
    assert done.returncode == ExitCode.MET, done.stderr[-3000:]
    # one JSON object on stdout, nothing else; the progress went to stderr
    summary = json.loads(done.stdout)
    assert done.stdout.strip().count("\n") == 0
    assert done.stderr.strip()
    assert summary["verdict"] == "met"
    assert summary["exit_code"] == 0
    assert summary["run_dir"] == str(out.resolve())
    assert str(out.resolve() / "report.html") in summary["files"]
    assert summary["measurements"]["rto_seconds"] > 0
    assert "activities" not in summary

    labels = (("scenario", "complete-outage"), ("target", "sandbox"))
    series = _series(textfile.read_text())
    assert set(RUN_SERIES) <= set(series)
    assert series["drills_rto_seconds"][labels] == pytest.approx(
        summary["measurements"]["rto_seconds"]
    )
    assert series["drills_writes_lost"][labels] == 0
    assert series["drills_verdict"][(*labels, ("verdict", "met"))] == 1

    [pushed] = gateway.pushes
    assert pushed.method == "PUT"
    assert pushed.path == "/metrics/job/drills/scenario/complete-outage/target/sandbox"
    assert set(RUN_SERIES) <= set(_series(pushed.body))

    # the canary lane is drawn from the run's real canary: writes acknowledged and refused
    html = (out / "report.html").read_text()
    fates = set(re.findall(r'data-fate="(\w+)"', html))
    assert {"acknowledged", "failed"} <= fates

    listed = _drills("history", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["run_dir"] == str(out.resolve())


def test_a_bad_pushgateway_url_is_a_usage_error(tmp_path: Path) -> None:
    done = _drills("run", "complete-outage", "--pushgateway", "gateway:9091", home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "--pushgateway" in done.stderr
    assert not (tmp_path / "runs").exists()
