"""Real drills through the real CLI against an emulated staging cluster (`tests/k8s/staging.py`).

Each test runs `drills run SCENARIO --target profile.yaml` in a subprocess, as a CronJob would,
and checks the verdict, the measured RTO against the emulator's own recovery instant (within one
sampling interval), and that the cluster is left as it was found.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from drills.catalog import resolve
from drills.integrity import table_facts
from tests.k8s.cluster_emulator import ClusterEmulator
from tests.k8s.database_pair import Standby, streaming
from tests.k8s.dr_scripts import DrScripts
from tests.k8s.kube_server import KubeServer
from tests.k8s.staging import SAMPLE_INTERVAL, Staging, instant, report, start_staging
from tests.service.stack import Postgres

pytestmark = [pytest.mark.k8s, pytest.mark.slow]

TICK = ClusterEmulator.tick_seconds
# What a starved thread can add on a busy 2-core machine: +0.016 to +0.115 s at a load average of
# 11, +0.599 s once at 6.5 (database-failover, CI and helpers' suites together). The test keeps
# a measured recovery near the truth; `benchmarks.fidelity` holds it to one sampling interval.
SCHEDULING = 1.0


@pytest.fixture
def staging(kube: KubeServer, tmp_path: Path) -> Iterator[Staging]:
    env = start_staging(tmp_path, kube)
    yield env
    env.emulator.stop()
    env.service.close()
    assert env.emulator.error is None, env.emulator.error


def assert_recovery_measured(staging: Staging, run_dir: Path) -> dict[str, object]:
    data = report(run_dir)
    m = data["measurements"]
    truth = staging.emulator.last_recovery()
    assert truth is not None, "the fault never took the service down"
    assert m["recovered_at"] is not None, m["unmeasured"]
    error = (instant(m["recovered_at"]) - truth).total_seconds()
    # One sampling interval, as achieved during the outage (DESIGN: `resolution`), plus the
    # emulator's own tick, to which its truth is known, plus SCHEDULING: the harness, the
    # emulator and the service are threads of processes on a shared 2-core machine.
    interval = max(SAMPLE_INTERVAL, float(m["resolution_seconds"] or 0.0))
    print(f"{data['drill']['scenario']}: recovered_at - truth = {error:+.3f} s (<= {interval})")
    limit = interval + TICK + SCHEDULING
    assert -TICK <= error <= limit, (m["recovered_at"], truth.isoformat(), error)
    return data


def assert_left_as_found(staging: Staging) -> None:
    assert staging.outside_the_role() == []
    assert staging.emulator.replicas("deployments", "maestro-control-plane") == 2
    assert staging.emulator.replicas("deployments", "redis") == 1
    assert staging.emulator.replicas("statefulsets", "postgresql") == 1
    assert staging.emulator.up


def test_complete_outage_runs_through_the_cli(staging: Staging, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    done = staging.drills(
        "run", "complete-outage", "--target", str(staging.profile), "--out", str(run_dir)
    )
    assert "unknown target" not in done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    data = assert_recovery_measured(staging, run_dir)
    assert data["verdict"] == "met"
    assert_left_as_found(staging)
    killed = json.loads((run_dir / "cluster.json").read_text())["killed_pods_logs"]
    assert killed["postgresql-0"] == "postgresql-0: serving\n"  # read before it was deleted
    assert {"maestro-control-plane-7d9f-b", "redis-5c4b-a"} <= set(killed)


@pytest.mark.parametrize("scenario", ["database-failover", "cross-region-failover"])
def test_failover_promotes_the_standby_and_fails_back(
    kube: KubeServer, database_pair: tuple[Postgres, Standby], tmp_path: Path, scenario: str
) -> None:
    staging = start_staging(
        tmp_path,
        kube,
        postgres_port=database_pair[0].port,
        postgres_password=database_pair[0].password,
    )
    try:
        check_failover(staging, tmp_path, scenario)
    finally:
        staging.emulator.stop()
        staging.service.close()
    assert staging.emulator.error is None, staging.emulator.error


def check_failover(staging: Staging, tmp_path: Path, scenario: str) -> None:
    run_dir = tmp_path / "run"
    done = staging.drills("run", scenario, "--target", str(staging.profile), "--out", str(run_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    data = assert_recovery_measured(staging, run_dir)
    assert data["verdict"] == "met"
    jobs = staging.emulator.jobs_seen
    assert any("promote" in j for j in jobs) and any("rebuild-standby" in j for j in jobs), jobs
    assert not staging.emulator.promoted  # failed back
    assert_left_as_found(staging)


@pytest.mark.parametrize("scenario", ["circuit-breaker-test", "database-connection-failure"])
def test_network_faults_open_breakers_and_heal(
    staging: Staging, tmp_path: Path, scenario: str
) -> None:
    run_dir = tmp_path / "run"
    done = staging.drills("run", scenario, "--target", str(staging.profile), "--out", str(run_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    data = assert_recovery_measured(staging, run_dir)
    assert data["verdict"] == "met"
    assert_left_as_found(staging)


HANGING_JOB = Path(__file__).parent / "experiments" / "hanging-job.yaml"


def test_an_aborted_drill_restores_replicas_and_deletes_its_hung_job(
    kube: KubeServer, tmp_path: Path
) -> None:
    staging = start_staging(tmp_path, kube, rto_seconds=2)
    staging.emulator.job_outcomes["backup"] = "hang"
    try:
        run_dir = tmp_path / "run"
        done = staging.drills(
            "run", str(HANGING_JOB), "--target", str(staging.profile), "--out", str(run_dir)
        )
        assert done.returncode == 3, done.stdout + done.stderr
        assert "twice the RTO objective" in done.stdout + done.stderr
        assert report(run_dir)["verdict"] == "aborted"
        assert staging.emulator.jobs_seen, "the backup Job was never started"
        assert_left_as_found(staging)
    finally:
        staging.emulator.stop()
        staging.service.close()
    assert staging.emulator.error is None, staging.emulator.error


def test_traffic_flood_is_mitigated_by_blocking_the_attackers(
    staging: Staging, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    done = staging.drills(
        "run", "traffic-flood", "--target", str(staging.profile), "--out", str(run_dir)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = assert_recovery_measured(staging, run_dir)
    assert data["verdict"] == "met"
    assert sum(n for ip, n in staging.service.clients.items() if ip != "127.0.0.1") > 100
    assert_left_as_found(staging)


def test_the_monthly_suite_runs_what_the_cluster_supports_and_names_the_rest(
    kube: KubeServer, database_pair: tuple[Postgres, Standby], tmp_path: Path
) -> None:
    staging = start_staging(
        tmp_path,
        kube,
        postgres_port=database_pair[0].port,
        postgres_password=database_pair[0].password,
    )
    try:
        out = tmp_path / "suite"
        done = staging.drills(
            "run", "--suite", "monthly", "--target", str(staging.profile), "--out", str(out)
        )
        text = done.stdout + done.stderr
        assert "cannot restore into a scratch instance" in text, text
        # the emulator knows its latest recovery: the suite's last drill's
        assert_recovery_measured(staging, out / "circuit-breaker-test")
        assert report(out / "database-failover")["measurements"]["rto_seconds"] is not None
        assert not (out / "backup-restore-test" / "report.json").exists()  # left out, not run
        rows = json.loads((out / "suite.json").read_text())["drills"]
        assert {r["scenario"]: r["verdict"] for r in rows} == {
            "database-failover": "met",
            "backup-restore-test": "left-out",  # named, with why; it does not fail the suite
            "monitoring-alerts": "left-out",  # no HTTP faults in a cluster
            "circuit-breaker-test": "met",
        }
        assert done.returncode == 0, text  # the monthly CronJob succeeds when what ran met
        assert_left_as_found(staging)
    finally:
        staging.emulator.stop()
        staging.service.close()
    assert staging.emulator.error is None, staging.emulator.error


def without_graph_steps(path: Path) -> Path:
    """The catalog's data-corruption experiment without its graph-store steps: the emulator runs
    no cypher-shell (the graph steps on a cluster are covered by tests/k8s/test_driver_graph.py)."""
    experiment = yaml.safe_load(resolve("data-corruption").path.read_text())

    def graph_step(activity: dict[str, Any]) -> bool:
        module = str((activity.get("provider") or {}).get("module", ""))
        return module in ("drills.actions.graph", "drills.probes.graph")

    hypothesis = experiment["steady-state-hypothesis"]
    hypothesis["probes"] = [a for a in hypothesis["probes"] if not graph_step(a)]
    for key in ("method", "rollbacks"):
        experiment[key] = [a for a in experiment.get(key) or [] if not graph_step(a)]
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def test_data_corruption_restores_to_before_the_fault_and_counts_the_writes_it_lost(
    kube: KubeServer, restorable: DrScripts, tmp_path: Path
) -> None:
    """The restore Job really restores (base backup + WAL to the last known good time): the
    tampered rows are found, the restored database holds no corrupt row and none of the rows
    committed after the recovery point, and the drill counts exactly those writes as lost."""
    staging = start_staging(tmp_path, kube, scripts=restorable, graph=False)
    try:
        run_dir = tmp_path / "run"
        done = staging.drills(
            "run",
            str(without_graph_steps(tmp_path / "data-corruption.yaml")),
            "--target",
            str(staging.profile),
            "--out",
            str(run_dir),
            # the runbook restores to 3 replicas; this staging runs 2 (configuration, as a team
            # whose staging is smaller than production would set it)
            env={"DRILLS_RESTORED_REPLICAS": "2"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        data = assert_recovery_measured(staging, run_dir)
        assert data["verdict"] == "met"
        m = data["measurements"]
        assert m["rows_corrupted_by_fault"] > 0 and m["rows_deleted_by_fault"] > 0
        [restore] = restorable.restores
        assert m["recovery_target"] == restore.target.isoformat()
        lost = sum(len(seqs) for seqs in restore.lost.values())
        print(
            f"data-corruption: {lost} acknowledged writes committed after the recovery point; "
            f"writes_lost {m['writes_lost']}, RTO {m['rto_seconds']:.2f} s, "
            f"RPO {m['rpo_seconds']:.3f} s, tampered {m['rows_corrupted_by_fault']}"
        )
        assert lost > 0, "nothing was committed between the fault and the write stop"
        assert m["writes_lost"] == lost
        assert m["writes_corrupted"] == 0
        assert m["rpo_seconds"] is not None and m["rpo_seconds"] > 0
        # The restored database: no corrupt row, the rows the fault deleted back (else more
        # writes would count as lost), and none of the rows committed after the target.
        [(stream, seqs)] = restore.lost.items()
        with psycopg.connect(restorable.primary.conninfo(), autocommit=True) as conn:
            facts = table_facts(conn)
            present = conn.execute(
                "SELECT count(*) FROM canary_records WHERE stream = %s AND seq = ANY(%s)",
                (stream, sorted(seqs)),
            ).fetchone()
        assert {name: f.corrupt for name, f in facts.items()} == {"canary_records": 0, "runs": 0}
        assert present == (0,)
        assert streaming(restorable.primary), "the standby was not re-seeded after the restore"
        assert any("restore" in job for job in staging.emulator.jobs_seen)
        assert_left_as_found(staging)
    finally:
        staging.emulator.stop()
        staging.service.close()
    assert staging.emulator.error is None, staging.emulator.error
