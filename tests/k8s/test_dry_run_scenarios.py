"""`drills run SCENARIO --target profile.yaml --dry-run` for every scenario, through the real CLI,
against the emulated staging cluster with a real PostgreSQL pair: no side effect anywhere.

Counted, per scenario: requests to the API server other than GETs (SelfSubjectAccessReviews
excepted: a review is a POST that changes nothing), SQL writes (the next transaction id of the
real primary does not move: only a writing transaction is given one), requests to the service's
write and flood paths and from the flood's addresses, exec'd psql statements, files left in the
temp dir. Steps the Kubernetes target cannot run are listed as "would fail" and the exit code
says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from drills.catalog import scenarios
from tests.k8s.database_pair import Standby
from tests.k8s.kube_server import KubeServer
from tests.k8s.staging import Staging, start_staging
from tests.service.stack import Postgres

pytestmark = pytest.mark.k8s

UNSUPPORTED = {
    "backup-restore-test": ["cannot restore into a scratch instance"],
    "infrastructure-rebuild": ["cannot destroy infrastructure"],
    "monitoring-alerts": ["cannot inject HTTP faults"],
}
ATTACKERS = {"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"}


@pytest.fixture
def staging(
    kube: KubeServer, database_pair: tuple[Postgres, Standby], tmp_path: Path
) -> Iterator[Staging]:
    env = start_staging(
        tmp_path,
        kube,
        postgres_port=database_pair[0].port,
        postgres_password=database_pair[0].password,
    )
    yield env
    env.emulator.stop()
    env.service.close()


def next_xid(primary: Postgres) -> int:
    with psycopg.connect(primary.conninfo()) as conn:
        row = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("scenario", sorted(s.name for s in scenarios()))
def test_a_dry_run_has_no_side_effect_and_names_what_would_fail(
    staging: Staging, database_pair: tuple[Postgres, Standby], tmp_path: Path, scenario: str
) -> None:
    primary = database_pair[0]
    xid = next_xid(primary)
    temp = tmp_path / "tmp"
    temp.mkdir()

    done = staging.drills(
        "run", scenario, "--target", str(staging.profile), "--dry-run", env={"TMPDIR": str(temp)}
    )

    out = done.stdout + done.stderr
    changes = [
        (r.method.value, r.url.path)
        for r in staging.kube.driver_requests()
        if r.method.value != "GET" and not r.url.path.endswith("/selfsubjectaccessreviews")
    ]
    assert changes == [], out
    assert next_xid(primary) == xid, "a dry run wrote to PostgreSQL"
    assert staging.service.writes() == [], out
    assert not ATTACKERS & set(staging.service.clients), "a dry run sent flood traffic"
    assert not [s for s in staging.emulator.sql if "pg_terminate" in s or "pg_promote" in s]
    assert staging.emulator.jobs_seen == []
    assert list(temp.iterdir()) == []
    assert staging.outside_the_role() == []
    assert "Drill plan:" in done.stdout
    if scenario in UNSUPPORTED:
        assert done.returncode == 2, out
        for reason in UNSUPPORTED[scenario]:
            assert reason in done.stdout
        assert "would fail:" in done.stdout
    else:
        assert done.returncode == 0, out
        assert "would fail" not in done.stdout
        assert "[fault]" in done.stdout


def test_a_missing_verb_is_named_by_the_dry_run(staging: Staging) -> None:
    rules = staging.kube.handler.rules
    staging.kube.handler.rules = [
        replace(rule, verbs=tuple(v for v in rule.verbs if v != "delete"))
        if rule.resources == ("pods",)
        else rule
        for rule in rules
    ]

    done = staging.drills("run", "complete-outage", "--target", str(staging.profile), "--dry-run")

    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if "would fail: RBAC" in line]
    assert lines and all("may not delete pods" in line for line in lines), done.stdout


def test_a_typo_in_the_profile_is_named_and_nothing_is_touched(staging: Staging) -> None:
    text = staging.profile.read_text()
    staging.profile.write_text(text.replace("deployment/redis", "deployment/rediss"))

    dry = staging.drills("run", "complete-outage", "--target", str(staging.profile), "--dry-run")
    live = staging.drills("run", "complete-outage", "--target", str(staging.profile))

    for done in (dry, live):
        assert done.returncode == 2, done.stdout + done.stderr
        assert "redis: deployment rediss not found in namespace maestro-staging" in (
            done.stdout + done.stderr
        )
    assert "INVALID" not in live.stdout
    changes = [
        (r.method.value, r.url.path)
        for r in staging.kube.driver_requests()
        if r.method.value != "GET" and not r.url.path.endswith("/selfsubjectaccessreviews")
    ]
    assert changes == []  # no Lease taken, nothing restarted


def test_a_suite_dry_run_plans_what_the_suite_runs_and_names_what_it_leaves_out(
    staging: Staging,
) -> None:
    done = staging.drills(
        "run", "--suite", "monthly", "--target", str(staging.profile), "--dry-run"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("Drill plan:") == 2  # database-failover, circuit-breaker-test
    assert (
        "backup-restore-test: left out: restore-newest-backup-into-scratch-instance: "
        "the kubernetes target cannot restore into a scratch instance"
    ) in done.stdout
    assert "monitoring-alerts: left out:" in done.stdout  # no HTTP faults in a cluster
    assert "cannot inject HTTP faults" in done.stdout
    assert staging.emulator.jobs_seen == []
