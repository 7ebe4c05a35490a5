"""ServiceConfig: the JSON file the harness writes for every replica."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drills.errors import InputError
from drills.targets.sandbox.service import ServiceConfig
from drills.targets.sandbox.service.postgres_store import with_connect_timeout

MINIMAL: dict[str, Any] = {
    "port": 8080,
    "postgres_conninfo": "host=127.0.0.1,127.0.0.1 port=5432,5433 dbname=maestro user=postgres",
    "redis_url": "redis://127.0.0.1:6379/0",
    "runtime_path": "/tmp/runtime.json",
}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "service.json"
    path.write_text(json.dumps(data))
    return path


def test_defaults_fill_optional_fields(tmp_path: Path) -> None:
    config = ServiceConfig.from_json_file(write(tmp_path, MINIMAL))
    assert config.host == "127.0.0.1"
    assert (config.pool_min, config.pool_max) == (1, 8)
    assert (config.breaker_fail_max, config.breaker_reset_seconds) == (5, 2.0)
    assert config.default_rate_limit == "200/second"
    assert config.request_timeout_seconds == 2.0


def test_round_trip_through_json(tmp_path: Path) -> None:
    config = ServiceConfig(**MINIMAL, pool_max=3, breaker_reset_seconds=0.5)
    path = tmp_path / "c.json"
    config.write(path)
    assert ServiceConfig.from_json_file(path) == config
    assert json.loads(config.to_json())["pool_max"] == 3


def test_integral_seconds_are_accepted_as_float(tmp_path: Path) -> None:
    config = ServiceConfig.from_json_file(write(tmp_path, {**MINIMAL, "breaker_reset_seconds": 3}))
    assert config.breaker_reset_seconds == 3.0
    assert isinstance(config.breaker_reset_seconds, float)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": "8080"}, "port must be int"),
        ({"port": True}, "port must be int"),
        ({"port": 70000}, "not in 0..65535"),
        ({"pool_min": 9}, "pool_min <= pool_max"),
        ({"breaker_fail_max": 0}, "breaker_fail_max"),
        ({"request_timeout_seconds": 0.0}, "request_timeout_seconds must be a positive"),
        ({"default_rate_limit": "lots"}, "bad rate limit"),
        ({"redis_url": " "}, "redis_url must not be empty"),
        ({"colour": "blue"}, "unknown field(s): colour"),
    ],
)
def test_bad_fields_are_input_errors(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ServiceConfig.from_json_file(write(tmp_path, {**MINIMAL, **change}))


def test_missing_required_field_is_named(tmp_path: Path) -> None:
    data = {k: v for k, v in MINIMAL.items() if k != "redis_url"}
    with pytest.raises(InputError, match="missing field\\(s\\): redis_url"):
        ServiceConfig.from_json_file(write(tmp_path, data))


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        ServiceConfig.from_json_file(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        ServiceConfig.from_json_file(bad)
    with pytest.raises(InputError, match="expected a JSON object"):
        ServiceConfig.from_json_file(write(tmp_path, [1, 2]))


def test_conninfo_gets_a_connect_timeout_unless_it_has_one() -> None:
    multi = "host=127.0.0.1,127.0.0.1 port=5432,5433 dbname=maestro"
    assert "connect_timeout=2" in with_connect_timeout(multi, 1.5)
    assert "connect_timeout=3" in with_connect_timeout(multi, 2.5)
    own = "host=127.0.0.1 connect_timeout=9"
    assert with_connect_timeout(own, 2.0) == own
    with pytest.raises(InputError, match="not a valid libpq conninfo"):
        with_connect_timeout("host=127.0.0.1 port", 2.0)


def test_replica_refuses_a_bad_config_with_exit_status_2(tmp_path: Path) -> None:
    path = write(tmp_path, {**MINIMAL, "postgres_conninfo": "host=127.0.0.1 port"})
    done = subprocess.run(
        [sys.executable, "-m", "drills.targets.sandbox.service", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "not a valid libpq conninfo" in done.stderr
