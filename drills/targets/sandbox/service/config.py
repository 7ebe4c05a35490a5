"""The control-plane replica's start-up configuration, as written by the harness.

The harness (the sandbox driver) writes one JSON file per deployment and starts every replica with
`--config PATH`; this module is the only reader and writer of that file, so the field names and
their checks live in one place. Settings that change while the service runs (maintenance mode,
rate limit, deny list) are not here: they live in the runtime file (see `runtime.py`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from limits import parse

from drills.errors import InputError

__all__ = ["ServiceConfig"]

_REQUIRED = ("port", "postgres_conninfo", "redis_url", "runtime_path")


@dataclass(frozen=True)
class ServiceConfig:
    """Everything a replica needs to start; identical for every replica of one deployment."""

    port: int
    postgres_conninfo: str
    redis_url: str
    runtime_path: str
    host: str = "127.0.0.1"
    pool_min: int = 1
    pool_max: int = 8
    breaker_fail_max: int = 5
    breaker_reset_seconds: float = 2.0
    default_rate_limit: str = "200/second"
    request_timeout_seconds: float = 2.0
    tls_certfile: str | None = None  # both set: serve https (see drills.targets.sandbox.servicetls)
    tls_keyfile: str | None = None
    neo4j_url: str = ""  # the graph store (Redis protocol, FalkorDB); "" = the service has none

    def __post_init__(self) -> None:
        _check_types(self)
        if not 0 <= self.port <= 65535:
            raise InputError(f"service config: port {self.port} is not in 0..65535")
        if self.pool_min < 0 or self.pool_max < 1 or self.pool_min > self.pool_max:
            raise InputError(
                f"service config: need 0 <= pool_min <= pool_max and pool_max >= 1, "
                f"got pool_min={self.pool_min} pool_max={self.pool_max}"
            )
        if self.breaker_fail_max < 1:
            raise InputError("service config: breaker_fail_max must be at least 1")
        for name in ("breaker_reset_seconds", "request_timeout_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"service config: {name} must be a positive number, got {value}")
        for name in ("host", "postgres_conninfo", "redis_url", "runtime_path"):
            if not getattr(self, name).strip():
                raise InputError(f"service config: {name} must not be empty")
        _check_rate_limit(self.default_rate_limit)
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise InputError("service config: tls_certfile and tls_keyfile go together")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceConfig:
        """Build from a decoded JSON object; unknown or missing fields are input errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"service config: unknown field(s): {', '.join(unknown)}")
        missing = [name for name in _REQUIRED if name not in data]
        if missing:
            raise InputError(f"service config: missing field(s): {', '.join(missing)}")
        values = dict(data)
        for name in ("breaker_reset_seconds", "request_timeout_seconds"):
            # JSON writes 2.0 as 2 in some encoders; an integral number is a fine float.
            if isinstance(values.get(name), int) and not isinstance(values.get(name), bool):
                values[name] = float(values[name])
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | Path) -> ServiceConfig:
        """Read the JSON file the harness wrote; raise `InputError` saying what is wrong."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"service config {path}: cannot read: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"service config {path}: not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InputError(f"service config {path}: expected a JSON object")
        try:
            return cls.from_dict(data)
        except InputError as exc:
            raise InputError(f"{exc} (in {path})") from exc

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The JSON text `from_json_file` reads back to an equal config."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def write(self, path: str | Path) -> None:
        """Write `to_json()` to `path` atomically (temp file + rename)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(target)


def _check_types(config: ServiceConfig) -> None:
    expected: dict[str, type] = {
        "host": str,
        "port": int,
        "postgres_conninfo": str,
        "redis_url": str,
        "runtime_path": str,
        "pool_min": int,
        "pool_max": int,
        "breaker_fail_max": int,
        "breaker_reset_seconds": float,
        "default_rate_limit": str,
        "request_timeout_seconds": float,
        "neo4j_url": str,
    }
    optional: dict[str, type] = {"tls_certfile": str, "tls_keyfile": str}
    for name, kind in [*expected.items(), *optional.items()]:
        value = getattr(config, name)
        if value is None and name in optional:
            continue
        # bool is an int subclass; a `true` port is a mistake, not port 1.
        if isinstance(value, bool) or not isinstance(value, kind):
            raise InputError(
                f"service config: {name} must be {kind.__name__}, got {type(value).__name__}"
            )


def _check_rate_limit(text: str) -> None:
    try:
        parse(text)
    except ValueError as exc:
        raise InputError(f"service config: bad rate limit {text!r}: {exc}") from exc
