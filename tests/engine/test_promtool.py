"""Prometheus' own tool on what drills exports: the textfile passes `promtool check metrics` and
every query of the Grafana dashboard parses as PromQL (`promtool check rules`). Skipped, saying
why, where promtool is not installed (Debian: apt-get install prometheus)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from drills.dashboard import grafana_dashboard
from drills.metrics import run_points, write_textfile
from tests.reports.runs import met_run, missed_run

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="no promtool on PATH (apt-get install prometheus) to check with"
)

# Grafana's dashboard variables, as Prometheus would see them after Grafana fills them in
_VARIABLES = {"$scenario": ".*", "$target": ".*"}


def _promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_textfile_passes_promtool_check_metrics(tmp_path: Path) -> None:
    path = tmp_path / "drills.prom"
    write_textfile(path, run_points(met_run().result) + run_points(missed_run().result))
    done = _promtool("check", "metrics", stdin=path.read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "", done.stdout  # no lint findings either


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    exprs = [t["expr"] for p in grafana_dashboard()["panels"] for t in p["targets"]]
    rules = []
    for index, expr in enumerate(exprs):
        for name, value in _VARIABLES.items():
            expr = expr.replace(name, value)
        rules.append({"record": f"drills:dashboard_query_{index}", "expr": expr})
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = _promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(exprs)} rules found" in done.stdout
