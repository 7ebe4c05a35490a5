"""Fuzzing the loaders of user input: zero tracebacks (issue 9).

Whatever an experiment file, a profile or a sandbox state file holds - random bytes, random
documents, or a real document with a few values changed - loading it either succeeds or raises
the project's input error (exit 2). On the landed main, 200 near-valid experiment documents gave
114 tracebacks with 33 distinct causes; `test_200_near_valid_experiments_through_the_cli` replays
that through the path `drills run FILE --dry-run` takes.
"""

from __future__ import annotations

import contextlib
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drills.catalog import EXPERIMENTS_DIR
from drills.errors import DrillError, ExitCode, InputError
from drills.experiment import load_for_run
from drills.objectives import ObjectiveTargets
from drills.targets.kubernetes.profile import parse_profile
from drills.targets.profiles import profile_objectives, read_profile
from drills.targets.sandbox.state import Layout, load_state
from tests.cli.invoke import invoke
from tests.cli.mutations import JSON_VALUES, mutated, seeded_mutation

K8S_PROFILES = Path(__file__).resolve().parents[1] / "k8s" / "profiles"
EXPERIMENTS = [yaml.safe_load(p.read_text()) for p in sorted(EXPERIMENTS_DIR.glob("*.yaml"))]
PROFILES: list[dict[str, Any]] = [
    {
        "kind": "sandbox",
        "name": "s",
        "state_dir": "/nonexistent",
        "objectives": {"rto_seconds": 60},
    },
    {
        "kind": "kubernetes",
        "name": "staging",
        "kubernetes": {"namespace": "drills-staging", "context": "staging"},
        "components": {"control-plane": "deployment/api", "postgres": "statefulset/pg"},
        "services": {"control_plane": "http://127.0.0.1:1", "redis": "redis://127.0.0.1:2/0"},
        "database": {"conninfo": {"host": "pg", "password": {"env": "PGPASSWORD"}}},
        "network": {"pod_selector": {"app": "api"}, "ingress": "api"},
        "objectives": {"rto_seconds": "15m", "error_rate": "1%"},
    },
]
STATE = {
    "schema": "drills.sandbox/v1",
    "sandbox_id": "abc",
    "created_at": "2026-01-01T00:00:00+00:00",
    "ports": {"control-plane": 1, "postgres": 2, "postgres-standby": 3, "redis": 4},
    "components": {
        c: {"processes": [{"pid": 1, "create_time": 0.5}], "replicas": 1}
        for c in ("control-plane", "postgres", "postgres-standby", "redis")
    },
}
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _write(directory: Path, name: str, content: bytes) -> Path:
    path = directory / name
    path.write_bytes(content)
    return path


def _dump(document: object) -> bytes:
    return yaml.safe_dump(document, allow_unicode=True).encode("utf-8")


def load_experiment_or_input_error(path: Path) -> None:
    with contextlib.suppress(InputError):
        load_for_run(path)


def load_profile_or_input_error(path: Path) -> None:
    try:
        data = read_profile(path)
        ObjectiveTargets.from_mapping(profile_objectives(path))
        if data.get("kind") == "kubernetes":
            parse_profile(data, source=path)
    except InputError:
        pass


def load_state_or_input_error(path: Path) -> None:
    try:
        load_state(Layout(path.parent))
    except DrillError as exc:
        assert exc.exit_code is ExitCode.USAGE, exc


@FUZZ
@given(document=mutated(EXPERIMENTS))
def test_near_valid_experiments(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        load_experiment_or_input_error(_write(Path(tmp), "e.yaml", _dump(document)))


@FUZZ
@given(
    document=JSON_VALUES, raw=st.binary(max_size=300), suffix=st.sampled_from([".yaml", ".json"])
)
def test_random_experiment_documents_and_bytes(document: object, raw: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        load_experiment_or_input_error(_write(Path(tmp), "d.yaml", _dump(document)))
        load_experiment_or_input_error(_write(Path(tmp), f"b{suffix}", raw))


@FUZZ
@given(document=mutated(PROFILES), raw=st.binary(max_size=300))
def test_profiles(document: dict[str, Any], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        load_profile_or_input_error(_write(Path(tmp), "p.yaml", _dump(document)))
        load_profile_or_input_error(_write(Path(tmp), "b.yaml", raw))


@FUZZ
@given(document=mutated([STATE]), other=JSON_VALUES, raw=st.binary(max_size=300))
def test_sandbox_state_files(document: dict[str, Any], other: object, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for content in (json.dumps(document).encode(), json.dumps(other).encode(), raw):
            load_state_or_input_error(_write(Path(tmp), "state.json", content))


@pytest.mark.slow
def test_200_near_valid_experiments_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(9)
    codes: dict[int, int] = {}
    for index in range(200):
        document = seeded_mutation(rng, rng.choice(EXPERIMENTS))
        path = _write(tmp_path, f"e{index}.yaml", _dump(document))
        done = invoke(capsys, monkeypatch, tmp_path, "run", str(path), "--dry-run")
        codes[done.code] = codes.get(done.code, 0) + 1
        assert done.code in (ExitCode.MET, ExitCode.USAGE), (index, done.stderr)
        if done.code == ExitCode.USAGE:
            assert done.line().startswith(f"drills: error: experiment {path}"), done.stderr
        else:
            assert done.stdout.startswith("Drill plan:"), done.stdout
    assert not (tmp_path / "runs").exists()
    assert codes.get(ExitCode.USAGE, 0) > 100  # most changes break the shape; all are refused
