"""`drills gate`: the CI decision on recovery-time regressions, from the history.

Exit 0 when every scenario passes (or the gate cannot decide yet and says so; `--strict` makes
that a failure), 1 when any scenario fails, 2 on bad input (an unknown scenario or invocation, an
unreadable history, an `--out` or job summary it cannot write).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from drills.catalog import resolve
from drills.errors import ExitCode, InputError, UnknownScenarioError
from drills.gate import Decision, GatePolicy, gate
from drills.history import History
from drills.reports.gate import gate_json, gate_markdown, gate_text, write_gate_files
from drills.settings import Settings


def _floors(values: Sequence[str]) -> dict[str, float]:
    floors: dict[str, float] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        try:
            if not sep:
                raise ValueError
            floors[key.strip()] = float(raw)
        except ValueError:
            raise InputError(f"--min-absolute wants METRIC=NUMBER, got {item!r}") from None
    return floors


@contextlib.contextmanager
def _writing(what: str, failed: str) -> Iterator[None]:
    """A file the gate cannot write is bad input (one line, exit 2), not a crash."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"{what}: {failed} ({exc.strerror or exc})") from None


def scenario_keys(history: History, names: Sequence[str]) -> list[str]:
    """The history's names for `names`: as recorded, or a catalog name / experiment file."""
    recorded = set(history.scenarios())
    keys = []
    for name in names:
        if name in recorded:
            keys.append(name)
            continue
        try:
            key = resolve(name).key
        except UnknownScenarioError:
            raise UnknownScenarioError(
                f"unknown scenario {name!r}: not in the catalog, not an experiment file,"
                f" and never recorded in history {history.where}"
            ) from None
        if key not in recorded:
            raise InputError(f"scenario {name!r} has no run in history {history.where}")
        keys.append(key)
    return keys


@click.command("gate")
@click.argument("scenarios", nargs=-1)
@click.option(
    "--baseline-runs", default=10, show_default=True, help="Met runs in the rolling baseline."
)
@click.option(
    "--alpha",
    default=0.01,
    show_default=True,
    help="False-alarm rate per scenario and metric (one-sided exact Mann-Whitney).",
)
@click.option(
    "--min-relative",
    default=0.2,
    show_default=True,
    help="A regression must move the median by at least this fraction.",
)
@click.option(
    "--min-absolute",
    "min_absolute",
    multiple=True,
    metavar="METRIC=NUMBER",
    help="Absolute floor of a metric's median shift (rto, ttd, downtime, p95_fault, "
    "writes_lost, rpo; seconds or writes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write gate.md, gate.xml (JUnit) and gate.json here.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) when the gate cannot decide.")
@click.option(
    "--invocation",
    metavar="ID",
    help="Judge the runs of this invocation (`drills run --invocation ID`) instead of each"
    " scenario's newest: a team history also holds other pipelines' and CronJobs' runs.",
)
def gate_command(
    scenarios: tuple[str, ...],
    baseline_runs: int,
    alpha: float,
    min_relative: float,
    min_absolute: tuple[str, ...],
    as_json: bool,
    out: Path | None,
    strict: bool,
    invocation: str | None,
) -> None:
    """Judge the newest invocation of each SCENARIO (default: all) against its baseline."""
    policy = GatePolicy(alpha, min_relative, _floors(min_absolute), baseline_runs)
    settings = Settings.from_environ()
    if out is not None:
        with _writing(f"--out {out}", "cannot write"):
            out.mkdir(parents=True, exist_ok=True)  # before judging: bad input, said first
    with History.existing(settings.history_location) as history:
        result = gate(history, scenario_keys(history, scenarios), policy, invocation)
        if not result.scenarios:
            raise InputError(f"history {history.where} has no runs to gate")
    if as_json:
        click.echo(json.dumps(gate_json(result), indent=2))
    else:
        click.echo(gate_text(result), nl=False)
    if out is not None:
        with _writing(f"--out {out}", "cannot write"):
            write_gate_files(result, out)
    if settings.github_step_summary is not None:
        path = settings.github_step_summary
        with (
            _writing(f"GITHUB_STEP_SUMMARY {path}", "cannot append"),
            path.open("a", encoding="utf-8") as summary,
        ):
            summary.write(gate_markdown(result))
    failed = result.decision is Decision.FAIL
    if failed or (strict and result.decision is Decision.UNDECIDED):
        sys.exit(ExitCode.MISSED)
