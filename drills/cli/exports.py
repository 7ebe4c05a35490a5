"""What `drills run` hands to other tools: a JSON summary on stdout, metrics for Prometheus.

`--json` turns the human summary into one JSON object (the run's `report.json` without its
activity list, plus the run folder, its files and the exit code) so a pipeline can read the result
without scraping text; progress stays on stderr. `--metrics-textfile` and `--pushgateway` export
the results through `drills.metrics`; a failed export is a warning on stderr, never a change of
the verdict's exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from drills.errors import InputError
from drills.metrics import MetricsError, export_points, validate_gateway_url
from drills.models import DrillResult
from drills.runner import RunOutcome
from drills.suite import SuiteOutcome

__all__ = ["export_metrics", "gateway_option", "run_summary", "suite_summary"]


def gateway_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: a Pushgateway URL, or a usage error (exit 2) before anything runs."""
    if value is None:
        return None
    try:
        return validate_gateway_url(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


def export_metrics(
    results: Sequence[DrillResult], textfile: Path | None, gateway: str | None
) -> None:
    """Write/push the runs' series; say on stderr when that failed."""
    if not results or (textfile is None and gateway is None):
        return
    try:
        export_points(results, textfile, gateway)
    except MetricsError as exc:
        click.echo(f"drills: warning: {exc}", err=True)


def run_summary(outcome: RunOutcome) -> dict[str, Any]:
    """One run as a JSON-safe object: the report (without activities), folder, files, exit code."""
    from drills.reports import build_report

    summary: dict[str, Any] = {}
    if outcome.conclusion is not None:
        report = build_report(outcome.conclusion.result, ())
        report.pop("activities", None)
        summary.update(report)
        summary["files"] = [str(path) for path in outcome.conclusion.files]
    else:
        summary["verdict"] = None
        summary["message"] = outcome.message
    summary["run_dir"] = None if outcome.run_dir is None else str(outcome.run_dir)
    summary["exit_code"] = int(outcome.exit_code)
    summary["interrupted"] = outcome.interrupted
    return summary


def suite_summary(done: SuiteOutcome) -> dict[str, Any]:
    """A suite as one JSON-safe object: its verdict and one entry per drill."""
    from drills.reports import build_report

    runs: list[dict[str, Any]] = []
    for entry in done.entries:
        item: dict[str, Any] = {"scenario": entry.scenario, "verdict": entry.verdict.value}
        if entry.result is not None:
            report = build_report(entry.result, ())
            report.pop("activities", None)
            item.update(report)
        if entry.error:
            item["error"] = entry.error
        item["run_dir"] = None if entry.run_dir is None else str(entry.run_dir)
        runs.append(item)
    return {
        "suite": done.name,
        "verdict": done.verdict.value,
        "exit_code": int(done.exit_code),
        "out_dir": str(done.out_dir),
        "wall_seconds": round(done.wall_seconds, 3),
        "runs": runs,
    }
