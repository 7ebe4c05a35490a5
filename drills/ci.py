"""CI pipelines that run drills on the embedded sandbox and gate on recovery-time regressions.

`drills ci --emit github|gitlab` prints one: each pipeline runs the chosen drills `--repeat N`
times on a fresh sandbox, then `drills gate` judges them against the history, writes `gate.md`,
`gate.xml` (JUnit) and `gate.json`, and fails the job on a missed objective, an invalid or aborted
run, or a significant regression. The history survives between pipelines either in the CI
system's cache (a SQLite file, saved even when the gate fails) or in a team PostgreSQL history
named by a secret `DRILLS_HISTORY` (then CI runners and the cluster's CronJobs share it).

Both name the pipeline's own invocation (from the CI system's run ids), so the gate judges exactly
this pipeline's runs even in a history other pipelines and CronJobs write at the same time.
`drills run` exits 1 (missed) or 3 (aborted, invalid) for a drill the gate must still judge and
report; any other failure (2 bad input, 4 a crash, 5 no run folder) stops the pipeline there.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from drills.errors import InputError

__all__ = ["CiSystem", "workflow"]


class CiSystem(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


_GITHUB = """\
# Drills on the embedded sandbox, gated on recovery-time regressions (emitted by `drills ci`).
name: drills
on:
  pull_request:
  push:
    branches: [main]
  schedule:
    - cron: "17 3 * * 1"  # weekly, so the baseline keeps up with the machine
concurrency:
  group: drills-${{{{ github.ref }}}}
jobs:
  drills:
    runs-on: ubuntu-latest
    timeout-minutes: {timeout}
    env:
      DRILLS_HOME: ${{{{ github.workspace }}}}/.drills
{history_env}    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
{restore}      - name: Run the drills ({repeat} runs each)
        run: |
{runs}
      - name: Gate on recovery-time regressions
        run: python3 dev.py drills gate --out drill-gate{gate_args}
{save}      - name: Keep the gate's report and the run folders
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: drills
          path: |
            drill-gate/
            .drills/runs/
"""

_GITHUB_RESTORE = """\
      - name: Restore the drill history
        uses: actions/cache/restore@v4
        with:
          path: .drills/history.sqlite
          key: drills-history-${{ github.run_id }}
          restore-keys: drills-history-
"""

_GITHUB_SAVE = """\
      - name: Save the drill history (also when the gate fails)
        if: always()
        uses: actions/cache/save@v4
        with:
          path: .drills/history.sqlite
          key: drills-history-${{ github.run_id }}
"""

_GITLAB = """\
# Drills on the embedded sandbox, gated on recovery-time regressions (emitted by `drills ci`).
drills:
  stage: test
  image: python:3.11
  timeout: {timeout}m
  variables:
    DRILLS_HOME: "$CI_PROJECT_DIR/.drills"
{history_vars}{cache}  script:
{runs}
    - python3 dev.py drills gate --out drill-gate{gate_args}
  artifacts:
    when: always
    paths:
      - drill-gate/
      - .drills/runs/
    reports:
      junit: drill-gate/gate.xml
"""

_GITLAB_CACHE = """\
  cache:
    key: drills-history
    paths:
      - .drills/history.sqlite
    when: always
"""


# This pipeline's own invocation id, from the CI system's ids: in a team history the newest
# invocation of a scenario may be another pipeline's or a CronJob's.
_INVOCATION = {
    CiSystem.GITHUB: '"github-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT"',
    CiSystem.GITLAB: '"gitlab-$CI_PIPELINE_ID-$CI_JOB_ID"',
}


# Go on to the gate after a verdict it judges (1 missed, 3 aborted or invalid); stop on 2 (bad
# input), 4 (a crash: the later runs never happened, a gate over the rest could pass) and 5.
_GO_ON = "|| { code=$?; [ $code -eq 1 ] || [ $code -eq 3 ]; }"


def _run_lines(system: CiSystem, scenarios: Sequence[str], repeat: int, indent: str) -> str:
    return "\n".join(
        f"{indent}python3 dev.py drills run {name} --repeat {repeat}"
        f" --invocation {_INVOCATION[system]} {_GO_ON}"
        for name in scenarios
    )


def workflow(system: CiSystem, scenarios: Sequence[str], repeat: int, team_history: bool) -> str:
    """The pipeline's YAML text."""
    if not scenarios:
        raise InputError("give at least one scenario to run")
    if repeat < 4:
        raise InputError(
            f"--repeat {repeat}: the gate needs at least 4 runs per pipeline to ever decide"
        )
    timeout = 10 + len(scenarios) * repeat  # about 35 s a drill on a fresh sandbox, with margin
    gate_args = f" --invocation {_INVOCATION[system]} " + " ".join(scenarios)
    if system is CiSystem.GITHUB:
        return _GITHUB.format(
            timeout=timeout,
            repeat=repeat,
            history_env="      DRILLS_HISTORY: ${{ secrets.DRILLS_HISTORY }}\n"
            if team_history
            else "",
            restore="" if team_history else _GITHUB_RESTORE,
            save="" if team_history else _GITHUB_SAVE,
            runs=_run_lines(system, scenarios, repeat, " " * 10),
            gate_args=gate_args,
        )
    return _GITLAB.format(
        timeout=timeout,
        # a masked CI/CD variable DRILLS_HISTORY reaches the job by itself
        history_vars="" if not team_history else "  # DRILLS_HISTORY: a masked CI/CD variable\n",
        cache="" if team_history else _GITLAB_CACHE,
        runs=_run_lines(system, scenarios, repeat, "    - "),
        gate_args=gate_args,
    )
