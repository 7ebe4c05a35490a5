"""`drills due`, the emitted CronJobs and the experiments' tags agree on every drill's cadence.

Read from the commands themselves, as an operator would: `drills due --json` on a fresh home, the
CronJobs of `drills schedule --emit kubernetes` and what each CronJob's own arguments run (the
same `drills run` arguments with `--dry-run --json`, on the default target: the plan names each
drill and starts nothing). Before the cadence table, `backup-restore-test` was due monthly while
the monthly CronJob ran only `database-failover`, and `circuit-breaker-test` had no cadence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from drills.catalog import scenarios
from tests.drills_process import run_drills

PLAN_PREFIX = "Drill plan: "


def cronjobs(home: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """The emitted CronJobs by cadence label, and what the schedule printed on stderr."""
    done = run_drills(
        *("schedule", "--emit", "kubernetes", "--namespace", "staging", "--image", "d:1"),
        home=home,
    )
    assert done.returncode == 0, done.stderr
    jobs = {
        doc["metadata"]["labels"]["drills.dev/cadence"]: doc
        for doc in yaml.safe_load_all(done.stdout)
        if doc is not None and doc["kind"] == "CronJob"
    }
    return jobs, done.stderr


def drills_run_by(job: dict[str, Any], home: Path) -> set[str]:
    """The drills the CronJob's `drills run` arguments run (planned, not run)."""
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    args = list(container["args"])
    target = args.index("--target")
    del args[target : target + 2]  # the cluster's profile is not here: plan on the default
    done = run_drills(*args, "--dry-run", "--json", home=home, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    plans = printed.get("plans", [printed])  # a suite, or one drill
    return {
        plan["message"].splitlines()[0].removeprefix(PLAN_PREFIX).split(" - ")[0] for plan in plans
    }


def test_due_and_the_cronjobs_agree_for_every_experiment(tmp_path: Path) -> None:
    done = run_drills("due", "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    due = [json.loads(line) for line in done.stdout.splitlines()]
    due_cadence: dict[str, set[str]] = {}
    for row in due:
        due_cadence.setdefault(row["scenario"], set()).add(row["cadence"])

    jobs, stderr = cronjobs(tmp_path)
    run_by = {cadence: drills_run_by(job, tmp_path) for cadence, job in jobs.items()}
    left_out = {
        line.split()[2].rstrip(":") for line in stderr.splitlines() if line.startswith("left out")
    }

    for scenario in scenarios():
        cadences = due_cadence.get(scenario.name, set())
        assert len(cadences) == 1, f"{scenario.name}: due under {cadences or 'no cadence'}"
        assert set(scenario.cadence) == cadences, f"{scenario.name}: tagged {scenario.cadence}"
        (cadence,) = cadences
        if scenario.name in left_out:
            continue  # the schedule names it and why; the suite on a cluster leaves it out
        assert cadence in jobs, f"{scenario.name}: no CronJob runs the {cadence} suite"
        assert scenario.name in run_by[cadence], f"{scenario.name}: not run by drills-{cadence}"
    # and no CronJob runs a drill that `drills due` files under another cadence
    for cadence, names in run_by.items():
        assert all(due_cadence[name] == {cadence} for name in names), (cadence, names)
    # what a cluster cannot run: a scratch restore, a rebuild, HTTP faults for the alert drill
    assert left_out == {"backup-restore-test", "infrastructure-rebuild", "monitoring-alerts"}
