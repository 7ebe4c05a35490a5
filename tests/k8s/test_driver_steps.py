"""Contract tests: listings, logs, traffic, maintenance mode, psql, backup and restore Jobs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import kmock
import pytest

from drills.errors import TargetError
from drills.targets.base import Component
from drills.targets.kubernetes.driver import KubernetesTarget
from tests.k8s import objects as o
from tests.k8s.kube_server import PODS, KubeServer, calls, stamp

pytestmark = pytest.mark.k8s

NS = o.NS
CORE = f"/api/v1/namespaces/{NS}"
NET = f"/apis/networking.k8s.io/v1/namespaces/{NS}"


def seed_listings(cluster: KubeServer) -> None:
    cluster.seed(
        kmock.resource("", "v1", "services"), o.service("maestro"), o.service("postgresql")
    )
    cluster.seed(kmock.resource("networking.k8s.io", "v1", "ingresses"), o.ingress("maestro"))
    cluster.seed(kmock.resource("", "v1", "nodes"), o.node("node-a"), o.node("node-b", ready=False))
    cluster.seed(
        kmock.resource("", "v1", "events"),
        o.event("e-late", "2024-01-15T10:05:00Z", "Started"),
        o.event("e-early", "2024-01-15T10:01:00Z", "Killing"),
        o.event("e-mid", "2024-01-15T10:03:00Z", "Pulled"),
    )
    cluster.seed(kmock.resource("autoscaling", "v2", "horizontalpodautoscalers"), o.hpa("maestro"))


def test_snapshot_lists_what_the_runbook_lists(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    seed_listings(cluster)

    snap = target.snapshot()

    assert sorted(calls(cluster.driver_requests())) == sorted(
        [
            ("GET", f"{CORE}/pods"),
            ("GET", f"{CORE}/services"),
            ("GET", f"{NET}/ingresses"),
            ("GET", f"/apis/apps/v1/namespaces/{NS}/deployments"),
            ("GET", f"/apis/apps/v1/namespaces/{NS}/statefulsets"),
            ("GET", f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers"),
            ("GET", f"{CORE}/events"),
            ("GET", "/api/v1/nodes"),
        ]
    )
    assert [e["reason"] for e in snap["events"]] == ["Killing", "Pulled", "Started"]  # by time
    assert {n["name"]: n["ready"] for n in snap["nodes"]} == {"node-a": True, "node-b": False}
    assert [s["name"] for s in snap["services"]] == ["maestro", "postgresql"]
    assert snap["ingresses"][0]["hosts"] == ["maestro.staging.example"]
    assert {s["name"] for s in snap["statefulsets"]} == {"postgresql"}
    assert snap["hpas"] == [
        {
            "name": "maestro",
            "target": "Deployment/maestro-control-plane",
            "min_replicas": 2,
            "max_replicas": 10,
            "current_replicas": 2,
            "desired_replicas": 4,
        }
    ]
    assert len(snap["pods"]) == 5


def test_nodes_forbidden_is_reported_not_fatal(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    seed_listings(cluster)

    async def forbid() -> None:
        cluster.handler["list", kmock.resource("", "v1", "nodes")] << 403 << {
            "kind": "Status", "code": 403, "message": 'nodes is forbidden: User "x" cannot list'
        }  # fmt: skip

    cluster.call(forbid())
    snap = target.snapshot()
    assert "forbidden" in snap["nodes"]["unavailable"]
    assert "lacks this permission" in snap["nodes"]["unavailable"]


def test_events_since_filters_by_time(target: KubernetesTarget, cluster: KubeServer) -> None:
    seed_listings(cluster)
    since = datetime(2024, 1, 15, 10, 2, tzinfo=UTC)
    assert [e["reason"] for e in target.list_events(since=since)] == ["Pulled", "Started"]


def test_logs_tail_each_pod_of_the_component(target: KubernetesTarget, cluster: KubeServer) -> None:
    cluster.handler.logs.update(
        {
            "maestro-control-plane-7d9f-a": "".join(f"a line {i}\n" for i in range(150)),
            "maestro-control-plane-7d9f-b": "b only line\n",
        }
    )

    text = target.logs(Component.CONTROL_PLANE, lines=100)

    logs = [r for r in cluster.driver_requests() if r.url.path.endswith("/log")]
    assert calls(logs) == [
        ("GET", f"{CORE}/pods/maestro-control-plane-7d9f-a/log"),
        ("GET", f"{CORE}/pods/maestro-control-plane-7d9f-b/log"),
    ]
    assert all(r.params == {"container": "maestro", "tailLines": "100"} for r in logs)
    assert "==> maestro-control-plane-7d9f-a <==" in text and "a line 149" in text
    assert "a line 49\n" not in text and "b only line" in text


def test_block_addresses_creates_then_updates_then_removes_a_policy(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    target.block_addresses(["203.0.113.9", "198.51.100.0/24", "2001:db8::1"])
    target.block_addresses(["203.0.113.10"])
    target.block_addresses([])

    policies = f"{NET}/networkpolicies"
    assert calls(cluster.mutating_requests()) == [
        ("POST", policies),
        ("POST", policies),  # exists: 409, then patched like kubectl apply
        ("PATCH", f"{policies}/drills-block-addresses"),
        ("DELETE", f"{policies}/drills-block-addresses"),
    ]
    first = cluster.mutating_requests()[0].data
    assert first["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "maestro"}}
    assert first["spec"]["policyTypes"] == ["Ingress"]
    assert first["spec"]["ingress"] == [
        {
            "from": [
                {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["198.51.100.0/24", "203.0.113.9/32"]}},
                {"ipBlock": {"cidr": "::/0", "except": ["2001:db8::1/128"]}},
            ]
        }
    ]
    patched = cluster.mutating_requests()[2].data
    assert patched["spec"]["ingress"][0]["from"][0]["ipBlock"]["except"] == ["203.0.113.10/32"]


def test_block_addresses_refuses_garbage_before_any_request(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    from drills.errors import InputError

    with pytest.raises(InputError, match="not an IP address"):
        target.block_addresses(["10.0.0.1; rm -rf /"])
    assert cluster.mutating_requests() == []


def test_maintenance_mode_applies_and_removes_the_manifest(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    target.set_maintenance(True)
    target.set_maintenance(True)  # idempotent: the second apply patches
    target.set_maintenance(False)

    assert calls(cluster.mutating_requests()) == [
        ("POST", f"{CORE}/configmaps"),
        ("POST", f"{CORE}/services"),
        ("POST", f"{NET}/ingresses"),
        ("POST", f"{CORE}/configmaps"),
        ("PATCH", f"{CORE}/configmaps/maestro-maintenance"),
        ("POST", f"{CORE}/services"),
        ("PATCH", f"{CORE}/services/maintenance-page"),
        ("POST", f"{NET}/ingresses"),
        ("PATCH", f"{NET}/ingresses/maestro-maintenance-page"),
        ("DELETE", f"{NET}/ingresses/maestro-maintenance-page"),
        ("DELETE", f"{CORE}/services/maintenance-page"),
        ("DELETE", f"{CORE}/configmaps/maestro-maintenance"),
    ]
    created = cluster.mutating_requests()[0].data
    assert created["metadata"]["namespace"] == NS
    assert created["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "drills"}
    assert created["data"] == {"enabled": "true"}


def test_rate_limit_sets_and_clears_ingress_nginx_annotations(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.seed(kmock.resource("networking.k8s.io", "v1", "ingresses"), o.ingress("maestro"))

    target.set_rate_limit("50/second")
    target.set_rate_limit("600/minute")
    target.set_rate_limit(None)

    patches = cluster.mutating_requests()
    assert calls(patches) == [("PATCH", f"{NET}/ingresses/maestro")] * 3
    rps, rpm = "nginx.ingress.kubernetes.io/limit-rps", "nginx.ingress.kubernetes.io/limit-rpm"
    assert [p.data["metadata"]["annotations"] for p in patches] == [
        {rps: "50", rpm: None},
        {rps: None, rpm: "600"},
        {rps: None, rpm: None},
    ]


def long_query_psql(pod: str, container: str | None, command: list[str]) -> tuple[str, str, int]:
    sql = command[command.index("-c") + 1]
    if "pg_terminate_backend" in sql:
        return (
            json.dumps([{"pid": 4242, "terminated": True}, {"pid": 77, "terminated": False}]),
            "",
            0,
        )
    rows = [
        {"pid": 4242, "seconds": 612.5, "state": "active", "user": "maestro", "query": "SELECT\n1"}
    ]
    return json.dumps(rows) + "\n", "", 0


def test_find_and_end_long_queries_with_psql_in_the_database_pod(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.handler.exec_handler = long_query_psql

    found = target.find_long_queries(300)
    ended = target.terminate_long_queries(300)

    assert [(q.pid, q.seconds, q.query) for q in found] == [(4242, 612.5, "SELECT\n1")]
    assert ended == [4242]
    execs = [r for r in cluster.driver_requests() if r.subresource == "exec"]
    assert calls(execs) == [("GET", f"{CORE}/pods/postgresql-0/exec")] * 2
    first = execs[0]
    command = first.url.query.getall("command")
    assert command[:11] == [
        "psql",
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        "postgres",
        "-d",
        "maestro",
    ]
    assert command[11] == "-c" and "make_interval(secs => 300.0)" in command[12]
    assert "pg_terminate_backend" not in command[12]
    assert "pg_terminate_backend(pid)" in execs[1].url.query.getall("command")[12]
    assert first.params["container"] == "postgresql"
    assert (first.params["stdout"], first.params["stderr"], first.params["tty"]) == (
        "true",
        "true",
        "false",
    )


def test_psql_reads_the_password_inside_the_pod(cluster: KubeServer, tmp_path: object) -> None:
    from pathlib import Path

    from drills.targets.kubernetes.profile import load_profile
    from tests.k8s.conftest import PROFILE, write_profile

    text = PROFILE.replace(
        "  user: postgres\n", "  user: postgres\n  password_env_in_pod: POSTGRES_PASSWORD\n"
    )
    driver = KubernetesTarget(
        load_profile(write_profile(Path(str(tmp_path)), text)), cluster.api_client()
    )
    cluster.handler.exec_handler = long_query_psql

    driver.find_long_queries(60)

    (request,) = [r for r in cluster.driver_requests() if r.subresource == "exec"]
    command = request.url.query.getall("command")
    assert command[:4] == ["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" exec "$@"', "psql"]
    assert command[4] == "psql" and "make_interval(secs => 60.0)" in command[-1]


def test_psql_failure_is_a_target_error(target: KubernetesTarget, cluster: KubeServer) -> None:
    cluster.handler.exec_handler = lambda pod, c, cmd: (
        "",
        'psql: error: role "postgres" does not exist\n',
        2,
    )
    with pytest.raises(
        TargetError, match=r'exited with 2: psql: error: role "postgres" does not exist'
    ):
        target.find_long_queries(300)


def test_restore_runs_the_template_as_a_job_and_waits(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.handler.job_outcome = "Complete"
    when = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)

    outcome = target.restore(
        Component.POSTGRES, backup_id="drills-20240115t095500z-ab12", target_time=when
    )

    assert outcome is not None and outcome.succeeded
    assert outcome.log_tail == "restore done\n"
    create = cluster.mutating_requests()[0]
    assert (create.method.value, create.url.path) == (
        "POST",
        f"/apis/batch/v1/namespaces/{NS}/jobs",
    )
    job = create.data
    assert (
        job["metadata"]["name"].startswith("pg-restore-")
        and job["metadata"]["name"] == outcome.name
    )
    assert job["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "drills",
        "drills.dev/purpose": "restore",
        "drills.dev/component": "postgres",
        "drills.dev/backup-id": "drills-20240115t095500z-ab12",
    }
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["sh", "-c", "restore $DRILLS_BACKUP_ID"]
    assert container["env"] == [
        {"name": "PGHOST", "value": "postgresql"},
        {"name": "DRILLS_COMPONENT", "value": "postgres"},
        {"name": "DRILLS_BACKUP_ID", "value": "drills-20240115t095500z-ab12"},
        {"name": "DRILLS_TARGET_TIME", "value": "2024-01-15T10:00:00+00:00"},
    ]
    watches = [r for r in cluster.driver_requests() if r.params.get("watch") == "true"]
    assert watches and watches[0].params["fieldSelector"] == f"metadata.name={outcome.name}"


def test_a_failed_restore_job_raises_with_its_reason(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.handler.job_outcome = "Failed"
    with pytest.raises(
        TargetError, match=r"restore Job pg-restore-.* failed \(BackoffLimitExceeded"
    ):
        target.restore(Component.POSTGRES, backup_id="b1")


def test_a_restore_job_that_never_ends_times_out(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    with pytest.raises(TargetError, match="not finished after 0 s"):
        target.restore(Component.POSTGRES, backup_id="b1", timeout_seconds=0.3)


def test_backups_are_jobs_and_are_listed_oldest_first(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.handler.job_outcome = "Complete"

    first = target.take_backup(Component.POSTGRES)
    second = target.take_backup(Component.POSTGRES)
    listed = target.list_backups(Component.POSTGRES)

    assert first.backup_id != second.backup_id and first.backup_id.startswith("drills-")
    assert [b.backup_id for b in listed] == [first.backup_id, second.backup_id]
    assert target.list_backups(Component.REDIS) == []
    env = cluster.mutating_requests()[0].data["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "DRILLS_BACKUP_ID", "value": first.backup_id} in env


def test_drill_window_collects_events_and_logs_in_the_window(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(seconds=60), now - timedelta(seconds=10)
    cluster.seed(
        kmock.resource("", "v1", "events"),
        o.event("before", stamp(start - timedelta(seconds=30)), "Scheduled"),
        o.event("during", stamp(start + timedelta(seconds=5)), "Killing"),
        o.event("after", stamp(end + timedelta(seconds=5)), "Pulled"),
    )
    cluster.handler.logs["postgresql-0"] = (
        f"{stamp(start + timedelta(seconds=1))} FATAL: terminating connection\n"
        f"{stamp(end + timedelta(seconds=5))} LOG: later\n"
    )

    window = target.drill_window(start, end)

    assert [e["reason"] for e in window["events"]] == ["Killing"]
    assert window["unavailable"] == {}
    assert window["logs"]["postgres"]["postgresql-0"] == [
        f"{stamp(start + timedelta(seconds=1))} FATAL: terminating connection"
    ]
    log_request = next(
        r for r in cluster.driver_requests() if r.url.path.endswith("postgresql-0/log")
    )
    assert log_request.params["timestamps"] == "true"
    assert 61 <= int(log_request.params["sinceSeconds"]) <= 70


def test_signals_carry_a_passfile_never_the_password(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    signals = {s.name: s for s in target.signals()}

    assert signals["health"].address == "http://127.0.0.1:9/health"
    assert signals["graphql"].address == "http://127.0.0.1:9/graphql"
    conninfo = signals["postgres"].address
    assert "s3cr3t-pw" not in conninfo and "password" not in conninfo
    passfile = conninfo.split("passfile=")[1]
    from pathlib import Path

    path = Path(passfile)
    assert path.read_text() == "127.0.0.1:5432:maestro:drills:s3cr3t-pw\n"
    assert path.stat().st_mode & 0o777 == 0o600
    target.close()
    assert not path.exists()


def test_pod_gone_before_its_log_is_read_gives_empty_text(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.seed(PODS, o.pod("redis-5c4b-a", {"app": "redis"}))
    assert target.logs(Component.REDIS) == "==> redis-5c4b-a <==\n"


def test_drill_window_survives_a_missing_workload(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.send("DELETE", f"/apis/apps/v1/namespaces/{NS}/deployments/redis")
    now = datetime.now(UTC)

    window = target.drill_window(now - timedelta(minutes=1), now)

    assert window["unavailable"] == {"redis": "Deployment redis does not exist"}
    assert set(window["logs"]) == {"control-plane", "postgres"}
