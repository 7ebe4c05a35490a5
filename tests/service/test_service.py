"""The control-plane service over real HTTP, backed by a real PostgreSQL and Redis.

Two replicas share one port (SO_REUSEPORT); every request below that must be able to reach either
replica opens a fresh connection. Tests that crash a dependency put it back before they end.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from drills.targets.sandbox.service import write_runtime
from drills.targets.sandbox.service.redis_store import RECORDS_COUNTER_KEY
from tests.service.conftest import make_config
from tests.service.stack import Postgres, Redis, Service, free_port, get, post, wait_until

pytestmark = pytest.mark.integration

HEAL_TIMEOUT_SECONDS = 10.0


def record(stream: str, seq: int, payload: str = "p") -> dict[str, Any]:
    sent_at = datetime.now(UTC).isoformat()
    checksum = hashlib.sha256(f"{stream}|{seq}|{payload}".encode()).hexdigest()
    return {
        "stream": stream,
        "seq": seq,
        "sent_at": sent_at,
        "payload": payload,
        "checksum": checksum,
    }


def every_replica(service: Service, check: Callable[[], bool], tries: int = 8) -> bool:
    """True when `tries` requests on fresh connections (spread over replicas) all pass `check`."""
    return all(check() for _ in range(tries))


def replicas_seen(service: Service, path: str = "/health", tries: int = 40) -> set[int]:
    return {get(service.url + path).json()["replica"] for _ in range(tries)}


# --- serving --------------------------------------------------------------------------------


def test_replicas_share_one_port(service: Service) -> None:
    assert replicas_seen(service) == {0, 1}


def test_health_checks_both_dependencies(service: Service) -> None:
    response = get(service.url + "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["maintenance"] is False
    assert body["checks"]["postgres"]["status"] == "up"
    assert body["checks"]["postgres"]["in_recovery"] is False
    assert body["checks"]["redis"]["status"] == "up"
    assert 0 < body["checks"]["redis"]["latency_seconds"] < 1


def test_keep_alive_answers_are_not_delayed(service: Service) -> None:
    # A regression guard for Nagle + delayed ACK (about 40 ms per answer when it bites).
    with httpx.Client(timeout=5.0) as client:
        client.get(service.url + "/api/resilience/circuit-breakers")
        started = time.monotonic()
        for _ in range(20):
            assert client.get(service.url + "/api/resilience/circuit-breakers").status_code == 200
        elapsed = time.monotonic() - started
    assert elapsed < 0.4


def test_resilience_endpoints(service: Service) -> None:
    breakers = get(service.url + "/api/resilience/circuit-breakers").json()
    assert set(breakers) == {"postgres", "redis"}
    assert breakers["postgres"] == {
        "state": "closed",
        "fail_counter": 0,
        "fail_max": 3,
        "reset_timeout_seconds": 1.0,
    }
    overall = get(service.url + "/api/resilience/health")
    assert overall.status_code == 200
    assert overall.json()["breakers"] == {"postgres": "closed", "redis": "closed"}

    resilience = get(service.url + "/api/resilience/metrics").json()["resilience"]
    assert resilience["pool"]["capacity"] == 8
    assert set(resilience["pool"]) >= {"in_use", "idle", "capacity", "waiting"}
    assert resilience["rate_limit"]["limit"] == "1000/second"
    assert resilience["requests_total"] >= 1
    assert {"rejected_total", "denied_total"} <= set(resilience["rate_limit"])

    databases = get(service.url + "/api/monitoring/databases")
    assert databases.status_code == 200
    body = databases.json()
    assert body["postgres"]["status"] == "up"
    assert body["postgres"]["in_recovery"] is False
    assert body["postgres"]["pool"]["capacity"] == 8
    assert body["redis"]["status"] == "up"


def test_unknown_breaker_and_route_are_json_404(service: Service) -> None:
    response = post(service.url + "/api/resilience/circuit-breakers/neo4j/reset")
    assert response.status_code == 404
    assert response.json()["known"] == ["postgres", "redis"]
    missing = get(service.url + "/no/such/path")
    assert missing.status_code == 404
    assert missing.json()["path"] == "/no/such/path"


def test_graphql_health_check(service: Service) -> None:
    response = post(service.url + "/graphql", json={"query": "{ healthCheck runs replica }"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["healthCheck"] is True
    assert isinstance(data["runs"], int)
    assert data["replica"] in (0, 1)
    bad = post(service.url + "/graphql", json={"query": "{ noSuchField }"})
    assert bad.status_code == 400
    assert "noSuchField" in bad.json()["errors"][0]["message"]


def test_prometheus_metrics(service: Service) -> None:
    get(service.url + "/health")
    text = get(service.url + "/metrics").text
    assert 'maestro_http_requests_total{method="GET",path="/health"' in text
    assert "maestro_http_request_duration_seconds_bucket" in text
    assert 'maestro_circuit_breaker_state{breaker="postgres"' in text
    assert 'maestro_db_pool_connections{replica="' in text
    assert "maestro_maintenance_mode" in text


# --- the canary path and business data ------------------------------------------------------


def test_record_is_committed_then_read_back_in_order(
    service: Service, postgres: Postgres, redis_server: Redis
) -> None:
    stream = f"s-{uuid.uuid4().hex[:8]}"
    counter = redis.Redis.from_url(redis_server.url)
    before = int(counter.get(RECORDS_COUNTER_KEY) or 0)
    sent = [record(stream, seq, payload=f"payload-{seq}") for seq in (3, 1, 2, 5, 4)]
    for body in sent:
        response = post(service.url + "/api/records", json=body)
        assert response.status_code == 201, response.text
        assert response.json() == {"stream": stream, "seq": body["seq"], "duplicate": False}
        # Acknowledged means committed: visible at once to another connection.
        with psycopg.connect(postgres.conninfo()) as conn:
            row = conn.execute(
                "SELECT payload, committed_at IS NOT NULL FROM canary_records"
                " WHERE stream = %s AND seq = %s",
                (stream, body["seq"]),
            ).fetchone()
        assert row == (body["payload"], True)
    assert int(counter.get(RECORDS_COUNTER_KEY) or 0) == before + 5
    counter.close()

    page = get(service.url + "/api/records", params={"stream": stream, "limit": 2}).json()
    assert [r["seq"] for r in page["records"]] == [1, 2]
    assert page["next"] == 2
    rest = get(service.url + "/api/records", params={"stream": stream, "after": 2}).json()
    assert [r["seq"] for r in rest["records"]] == [3, 4, 5]
    assert rest["next"] is None
    by_seq = {b["seq"]: b for b in sent}
    for got in page["records"] + rest["records"]:
        want = by_seq[got["seq"]]
        assert got["payload"] == want["payload"]
        assert got["checksum"] == want["checksum"]
        assert datetime.fromisoformat(got["sent_at"]) == datetime.fromisoformat(want["sent_at"])


def test_record_write_is_idempotent(service: Service, postgres: Postgres) -> None:
    stream = f"s-{uuid.uuid4().hex[:8]}"
    first = post(service.url + "/api/records", json=record(stream, 7, payload="first"))
    again = post(service.url + "/api/records", json=record(stream, 7, payload="second"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["duplicate"] is False
    assert again.json()["duplicate"] is True
    with psycopg.connect(postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT payload FROM canary_records WHERE stream = %s", (stream,)
        ).fetchall()
    assert rows == [("first",)]


@pytest.mark.parametrize(
    "change",
    [
        {"seq": "x"},
        {"seq": True},
        {"seq": -1},
        {"sent_at": "yesterday"},
        {"stream": ""},
        {"payload": None},
    ],
)
def test_record_rejects_bad_input(service: Service, change: dict[str, Any]) -> None:
    body = {**record("bad-input", 1), **change}
    response = post(service.url + "/api/records", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad request"


def test_record_list_limit_is_bounded(service: Service) -> None:
    response = get(service.url + "/api/records", params={"stream": "s", "limit": 5001})
    assert response.status_code == 400


def test_runs_carry_a_checksum_that_exposes_corruption(
    service: Service, postgres: Postgres
) -> None:
    name = f"run-{uuid.uuid4().hex[:8]}"
    created = post(service.url + "/api/runs", json={"name": name, "status": "ok"})
    assert created.status_code == 201
    row = created.json()
    assert row["checksum"] == hashlib.sha256(f"{name}|ok".encode()).hexdigest()
    assert row["checksum_valid"] is True

    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute("UPDATE runs SET status = 'tampered' WHERE id = %s", (row["id"],))
    listed = get(service.url + "/api/runs", params={"after": row["id"] - 1, "limit": 1}).json()
    assert listed["runs"][0]["id"] == row["id"]
    assert listed["runs"][0]["checksum_valid"] is False


# --- runtime file: maintenance, deny list, rate limit ---------------------------------------


def test_maintenance_refuses_writes_but_serves_reads(service: Service, runtime: Path) -> None:
    stream = f"s-{uuid.uuid4().hex[:8]}"
    write_runtime(runtime, maintenance=True)

    def refused() -> bool:
        response = post(service.url + "/api/records", json=record(stream, 1))
        return response.status_code == 503 and response.json()["error"] == "maintenance"

    wait_until(lambda: every_replica(service, refused), 5, "maintenance on every replica")
    assert post(service.url + "/api/records", json=record(stream, 10)).status_code == 503
    assert post(service.url + "/api/runs", json={"name": "n", "status": "s"}).status_code == 503
    assert get(service.url + "/api/records", params={"stream": stream}).status_code == 200
    health = get(service.url + "/health")
    assert health.status_code == 503
    assert health.json()["status"] == "maintenance"
    assert health.json()["maintenance"] is True
    # Operator actions still work in maintenance.
    assert post(service.url + "/api/resilience/circuit-breakers/redis/reset").status_code == 200

    write_runtime(runtime, maintenance=False)

    def accepted() -> bool:
        return post(service.url + "/api/records", json=record(stream, 2)).status_code == 201

    wait_until(lambda: every_replica(service, accepted), 5, "maintenance off on every replica")
    listed = get(service.url + "/api/records", params={"stream": stream}).json()["records"]
    seqs = [r["seq"] for r in listed]
    assert 2 in seqs
    assert 10 not in seqs  # refused in maintenance: never written


def _client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=5.0)


def test_deny_list_answers_403_to_that_address_only(service: Service, runtime: Path) -> None:
    write_runtime(runtime, deny=["127.0.0.2"])

    def denied() -> bool:
        with _client_from("127.0.0.2") as client:
            return client.get(service.url + "/health").status_code == 403

    wait_until(lambda: every_replica(service, denied), 5, "deny list on every replica")
    assert get(service.url + "/health").status_code == 200
    metrics = get(service.url + "/api/resilience/metrics").json()["resilience"]["rate_limit"]
    assert metrics["deny"] == ["127.0.0.2"]

    write_runtime(runtime, deny=[])

    def allowed() -> bool:
        with _client_from("127.0.0.2") as client:
            return client.get(service.url + "/health").status_code == 200

    wait_until(lambda: every_replica(service, allowed), 5, "deny list cleared")


def test_rate_limit_answers_429_with_retry_after(service: Service, runtime: Path) -> None:
    write_runtime(runtime, rate_limit="5/second")
    url = service.url + "/api/resilience/circuit-breakers"
    # One keep-alive connection: one replica, one client address; bounded bursts.
    with _client_from("127.0.0.3") as client:

        def limited() -> bool:
            return any(client.get(url).status_code == 429 for _ in range(10))

        wait_until(limited, 5, "the 5/second limit in force", interval=0.3)
        time.sleep(1.1)  # a fresh window
        burst = [client.get(url) for _ in range(8)]
    assert [r.status_code for r in burst] == [200] * 5 + [429] * 3
    refused = burst[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["limit"] == "5/second"
    # The limit is per client address: another address is not affected by that burst.
    assert get(service.url + "/health").status_code == 200

    write_runtime(runtime)
    time.sleep(1.1)  # let the 5/second window of 127.0.0.3 pass
    with _client_from("127.0.0.3") as client:
        wait_until(
            lambda: all(client.get(service.url + "/health").status_code == 200 for _ in range(10)),
            5,
            "rate limit back to the default",
        )
    rejected = [
        get(service.url + "/api/resilience/metrics").json()["resilience"]["rate_limit"][
            "rejected_total"
        ]
        for _ in range(6)
    ]
    assert max(rejected) >= 3


def test_rate_limit_cannot_be_bypassed_by_rotating_x_forwarded_for(
    service: Service, runtime: Path
) -> None:
    """The client address is the TCP peer: a forwarded header from anyone is not believed."""
    write_runtime(runtime, rate_limit="5/second")
    url = service.url + "/api/resilience/circuit-breakers"
    # 127.0.0.1 is the peer uvicorn would believe forwarded headers from by default
    with _client_from("127.0.0.1") as client:  # one keep-alive connection: one replica
        wait_until(
            lambda: any(client.get(url).status_code == 429 for _ in range(10)),
            5,
            "the 5/second limit in force",
            interval=0.3,
        )
        time.sleep(1.1)  # a fresh window
        started = time.monotonic()
        codes = [
            client.get(
                url, headers={"X-Forwarded-For": f"10.1.{i // 250}.{i % 250 + 1}"}
            ).status_code
            for i in range(60)
        ]
        elapsed = time.monotonic() - started
    # a moving window of 5/s lets at most 5 through per started second
    assert codes.count(200) <= 5 * (int(elapsed) + 1), (elapsed, codes)
    assert codes.count(429) >= 60 - 5 * (int(elapsed) + 1)


def test_deny_list_ignores_x_forwarded_for(service: Service, runtime: Path) -> None:
    write_runtime(runtime, deny=["127.0.0.1"])
    spoofed = {"X-Forwarded-For": "10.9.9.9", "Forwarded": "for=10.9.9.9"}

    def denied() -> bool:
        with _client_from("127.0.0.1") as client:
            return client.get(service.url + "/health", headers=spoofed).status_code == 403

    wait_until(lambda: every_replica(service, denied), 5, "deny list on every replica")
    with _client_from("127.0.0.1") as client:
        refused = client.get(service.url + "/health", headers=spoofed)
    write_runtime(runtime, deny=[])
    wait_until(
        lambda: every_replica(service, lambda: get(service.url + "/health").status_code == 200),
        5,
        "deny list cleared",
    )
    assert refused.status_code == 403
    assert "10.9.9.9" not in refused.text
    assert refused.json()["client"] == "127.0.0.1"


# --- crashes ----------------------------------------------------------------------------------


def test_one_replica_killed_the_other_serves(service: Service) -> None:
    service.kill_replica(1)
    try:
        answers = [get(service.url + "/health") for _ in range(20)]
        assert [r.status_code for r in answers] == [200] * 20
        assert {r.json()["replica"] for r in answers} == {0}
    finally:
        service.start_replica(1)
    wait_until(lambda: 1 in replicas_seen(service, tries=10), 5, "replica 1 back")


def test_postgres_crash_opens_breaker_and_heals(service: Service, postgres: Postgres) -> None:
    postgres.crash()
    try:

        def postgres_down() -> bool:
            response = get(service.url + "/health")
            return response.status_code == 503 and response.json()["failed"] == ["postgres"]

        detect = wait_until(lambda: every_replica(service, postgres_down), 5, "/health 503")
        assert detect < 3

        def breaker_open() -> bool:
            state = get(service.url + "/api/resilience/circuit-breakers").json()["postgres"]
            return bool(state["state"] != "closed")

        wait_until(lambda: every_replica(service, breaker_open), 5, "postgres breaker open")
        write = post(service.url + "/api/records", json=record("crash", 1))
        assert write.status_code == 503
        assert write.json()["dependency"] == "postgres"
        graphql = post(service.url + "/graphql", json={"query": "{ healthCheck }"})
        assert graphql.json()["data"]["healthCheck"] is False

        reset = post(service.url + "/api/resilience/circuit-breakers/postgres/reset")
        assert reset.status_code == 200
        assert (reset.json()["state"], reset.json()["fail_counter"]) == ("closed", 0)
    finally:
        postgres.start()

    def healthy() -> bool:
        return get(service.url + "/health").status_code == 200

    wait_until(lambda: every_replica(service, healthy), HEAL_TIMEOUT_SECONDS, "/health 200 again")
    reset = post(service.url + "/api/resilience/circuit-breakers/postgres/reset")
    assert reset.json()["state"] == "closed"

    def breakers_closed() -> bool:
        body = get(service.url + "/api/resilience/circuit-breakers").json()
        return {body["postgres"]["state"], body["redis"]["state"]} == {"closed"}

    wait_until(lambda: every_replica(service, breakers_closed), 5, "breakers closed everywhere")
    assert post(service.url + "/api/records", json=record("crash", 2)).status_code == 201


def test_frozen_postgres_answers_within_the_request_timeout(
    service: Service, postgres: Postgres
) -> None:
    timeout = service.config.request_timeout_seconds
    postgres.freeze()
    try:
        started = time.monotonic()
        response = post(service.url + "/api/records", json=record("frozen", 1))
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["dependency"] == "postgres"
        assert elapsed < timeout + 0.5
        started = time.monotonic()
        health = get(service.url + "/health")
        assert time.monotonic() - started < timeout + 0.5
        assert health.status_code == 503
        assert "postgres" in health.json()["failed"]
    finally:
        postgres.thaw()

    def healthy() -> bool:
        return get(service.url + "/health").status_code == 200

    wait_until(lambda: every_replica(service, healthy), HEAL_TIMEOUT_SECONDS, "thawed and healed")


def test_pool_exhaustion_is_503(tmp_path: Path, postgres: Postgres, redis_server: Redis) -> None:
    config = make_config(
        tmp_path,
        postgres,
        redis_server,
        pool_min=1,
        pool_max=1,
        request_timeout_seconds=1.0,
        breaker_fail_max=50,
    )
    small = Service(tmp_path, config)
    locker = psycopg.connect(postgres.conninfo())
    try:
        small.start_replica(0)
        wait_until(lambda: get(small.url + "/health").status_code == 200, 5, "small service up")
        # An outside transaction holds the table: the one pooled connection blocks on it, and
        # requests behind it wait for the pool until their deadline.
        locker.execute("LOCK TABLE canary_records IN ACCESS EXCLUSIVE MODE")

        def write(seq: int) -> tuple[httpx.Response, float]:
            started = time.monotonic()
            response = post(small.url + "/api/records", json=record("pool", seq))
            return response, time.monotonic() - started

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            holder = pool.submit(write, 1)
            time.sleep(0.3)
            waiters = [pool.submit(write, seq) for seq in (2, 3, 4)]
            results = [holder.result(), *(w.result() for w in waiters)]
        assert [r.status_code for r, _ in results] == [503] * 4
        assert results[0][0].json()["error"] == "timeout"
        errors = [r.json()["error"] for r, _ in results[1:]]
        assert "no connection available" in errors
        assert max(elapsed for _, elapsed in results) < config.request_timeout_seconds + 0.5
        locker.rollback()
        # The cancelled statement did not poison the pool: the next write goes through.
        wait_until(
            lambda: post(small.url + "/api/records", json=record("pool", 3)).status_code == 201,
            5,
            "pool usable again",
        )
    finally:
        locker.close()
        small.stop()


def test_multi_host_conninfo_skips_a_dead_host(
    tmp_path: Path, postgres: Postgres, redis_server: Redis
) -> None:
    dead = free_port()
    conninfo = (
        f"host=127.0.0.1,127.0.0.1 port={dead},{postgres.port} dbname=maestro user=postgres"
        f" target_session_attrs=read-write connect_timeout=2 password={postgres.password}"
    )
    multi = Service(
        tmp_path, make_config(tmp_path, postgres, redis_server, postgres_conninfo=conninfo)
    )
    try:
        multi.start_replica(0)
        wait_until(lambda: get(multi.url + "/health").status_code == 200, 5, "healthy via host 2")
        databases = get(multi.url + "/api/monitoring/databases").json()
        assert databases["postgres"]["in_recovery"] is False
    finally:
        multi.stop()


def test_redis_crash_does_not_fail_committed_writes(
    service: Service, redis_server: Redis, postgres: Postgres
) -> None:
    stream = f"s-{uuid.uuid4().hex[:8]}"
    redis_server.stop()
    try:

        def redis_down() -> bool:
            response = get(service.url + "/health")
            return response.status_code == 503 and response.json()["failed"] == ["redis"]

        wait_until(lambda: every_replica(service, redis_down), 5, "/health 503 for redis")
        for seq in range(4):
            response = post(service.url + "/api/records", json=record(stream, seq))
            assert response.status_code == 201, response.text
        with psycopg.connect(postgres.conninfo()) as conn:
            count = conn.execute(
                "SELECT count(*) FROM canary_records WHERE stream = %s", (stream,)
            ).fetchone()
        assert count == (4,)
        failures = [
            get(service.url + "/api/resilience/metrics").json()["resilience"][
                "redis_counter_failures_total"
            ]
            for _ in range(10)
        ]
        assert sum(failures) >= 1
    finally:
        redis_server.start()

    def healthy() -> bool:
        return get(service.url + "/health").status_code == 200

    wait_until(lambda: every_replica(service, healthy), HEAL_TIMEOUT_SECONDS, "redis healed")


def test_starts_with_databases_down_then_heals(
    tmp_path: Path, postgres: Postgres, redis_server: Redis
) -> None:
    postgres.stop()
    redis_server.stop()
    cold = Service(tmp_path, make_config(tmp_path, postgres, redis_server))
    try:
        startup_seconds = cold.start_replica(0)
        assert startup_seconds < 1.5, cold.log_tail(0)
        response = get(cold.url + "/health")
        assert response.status_code == 503
        assert sorted(response.json()["failed"]) == ["postgres", "redis"]
        postgres.start()
        redis_server.start()
        healed = wait_until(
            lambda: get(cold.url + "/health").status_code == 200, HEAL_TIMEOUT_SECONDS, "healing"
        )
        assert healed < HEAL_TIMEOUT_SECONDS
        assert post(cold.url + "/api/records", json=record("cold", 1)).status_code == 201
        assert cold.stop_replica(0) == 0  # SIGTERM: graceful, exit status 0
    finally:
        cold.stop()
        if postgres.proc is None:
            postgres.start()
        if redis_server.proc is None:
            redis_server.start()
