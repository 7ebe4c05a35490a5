"""The one typed settings object; the only place that reads the environment (prefix `DRILLS_`).

DRILLS_HOME            where runs and the history live (default: the user's data dir for drills)
DRILLS_HISTORY         history database: a SQLite file path (default: $DRILLS_HOME/history.sqlite)
DRILLS_SANDBOX_DIR     default state directory of `drills sandbox` commands
DRILLS_TARGET          target for plain `chaos run` of a drills experiment (e.g. sandbox:/path)
DRILLS_OUT             run folder for plain `chaos run` (default: a new folder under $DRILLS_HOME/runs)
DRILLS_SAMPLE_INTERVAL sampling interval in seconds (default 0.1: 10 Hz; 0.01 to 10)
DRILLS_CANARY_RATE     canary writes per second (default 100; 0.1 to 1000)
DRILLS_BASELINE        seconds measured before the experiment starts (default 3; 0.1 to 3600)
DRILLS_OBSERVE_AFTER   seconds measured after the experiment ends (default 3; 0.1 to 3600)

Numbers out of range, infinite or NaN are refused (exit 2) before anything starts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from drills.errors import InputError


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("drills", appauthor=False))


def _default_sandbox_dir(home: Path) -> Path:
    # As root, PostgreSQL runs as an unprivileged user that must be able to reach its data dir:
    # /root is closed to it, so root's sandboxes live under /var/lib like any system service.
    if os.geteuid() == 0:
        return Path("/var/lib/drills/sandbox")
    return home / "sandbox"


@dataclass(frozen=True)
class Settings:
    home: Path
    history: Path
    sandbox_dir: Path
    target: str | None
    out: Path | None
    sample_interval_seconds: float
    canary_rate: float
    baseline_seconds: float = 3.0
    observe_after_seconds: float = 3.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env["DRILLS_HOME"]) if env.get("DRILLS_HOME") else _default_home()
        return cls(
            home=home,
            history=Path(env.get("DRILLS_HISTORY") or home / "history.sqlite"),
            sandbox_dir=Path(env.get("DRILLS_SANDBOX_DIR") or _default_sandbox_dir(home)),
            target=env.get("DRILLS_TARGET") or None,
            out=Path(env["DRILLS_OUT"]) if env.get("DRILLS_OUT") else None,
            sample_interval_seconds=_bounded(env, "DRILLS_SAMPLE_INTERVAL", 0.1, 0.01, 10.0),
            canary_rate=_bounded(env, "DRILLS_CANARY_RATE", 100.0, 0.1, 1000.0),
            baseline_seconds=_bounded(env, "DRILLS_BASELINE", 3.0, 0.1, 3600.0),
            observe_after_seconds=_bounded(env, "DRILLS_OBSERVE_AFTER", 3.0, 0.1, 3600.0),
        )


def _bounded(env: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    """A finite number of `key` within [low, high]; anything else is refused before a drill."""
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{key}={raw!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{key}={raw!r}: must be a number from {low:g} to {high:g}")
    return value
