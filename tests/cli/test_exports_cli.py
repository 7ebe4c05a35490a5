"""The CLI's doors to other tools and people: `drills due --metrics-textfile`, `drills dashboard
--emit grafana`, and help texts that list the exit codes and the sandbox's components."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from drills.catalog import scenarios
from drills.errors import ExitCode
from drills.targets.base import Component
from tests.drills_process import run_drills


def drills(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_drills(*args, home=home, env={"COLUMNS": "200"})


def test_due_exports_every_cadenced_drill_as_overdue_without_history(tmp_path: Path) -> None:
    textfile = tmp_path / "due.prom"
    done = drills("due", "--metrics-textfile", str(textfile), home=tmp_path)
    assert done.returncode == 0, done.stderr
    overdue = {
        (s.labels["scenario"], s.labels["cadence"]): s.value
        for family in text_string_to_metric_families(textfile.read_text())
        for s in family.samples
        if s.name == "drills_overdue"
    }
    expected = {(s.name, c) for s in scenarios() for c in s.cadence}
    assert set(overdue) == expected
    assert set(overdue.values()) == {1.0}  # nothing ever ran: every drill is overdue


def test_dashboard_emits_grafana_json(tmp_path: Path) -> None:
    done = drills("dashboard", "--emit", "grafana", home=tmp_path)
    assert done.returncode == 0, done.stderr
    board = json.loads(done.stdout)
    assert board["uid"] == "drills-dr-results"
    assert {p["title"] for p in board["panels"]} >= {
        "Recovery time (RTO)",
        "Data loss window (RPO)",
        "Overdue drills",
    }


def test_dashboard_refuses_an_unknown_tool(tmp_path: Path) -> None:
    done = drills("dashboard", "--emit", "kibana", home=tmp_path)
    assert done.returncode == ExitCode.USAGE


def test_run_help_lists_the_export_options(tmp_path: Path) -> None:
    done = drills("run", "--help", home=tmp_path)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "--json" in text and "--metrics-textfile" in text and "--pushgateway" in text


def test_sandbox_restart_help_lists_the_components(tmp_path: Path) -> None:
    done = drills("sandbox", "restart", "--help", home=tmp_path)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for component in Component:
        assert component.value in text
