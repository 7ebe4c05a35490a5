"""Every input of the wrong shape is one line and exit 2, before anything starts (issue 9).

Each case here was a traceback (exit 1, read by CI as "missed") or a wrong exit code on the landed
main: binary files, experiment keys of the wrong type, a corrupt sandbox state file, a
`sandbox:` target that is a file or does not exist.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from drills.catalog import EXPERIMENTS_DIR
from drills.errors import ExitCode, InputError, StateDirError
from drills.experiment import load_for_run
from drills.targets.sandbox.state import Layout, load_state
from tests.cli.invoke import invoke

BINARY = bytes(range(256)) * 8  # not UTF-8: 0x80 cannot start a character


def _experiment(tmp_path: Path, **changes: object) -> Path:
    document = yaml.safe_load((EXPERIMENTS_DIR / "complete-outage.yaml").read_text())
    document.update(changes)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


WRONG_TYPES = {
    "method: 5": {"method": 5},
    "rollbacks: 7": {"rollbacks": 7},
    "tags: 5": {"tags": 5},
    "controls: 5": {"controls": 5},
    "configuration: 5": {"configuration": 5},
    "steady-state-hypothesis: [1,2]": {"steady-state-hypothesis": [1, 2]},
    "method: [5]": {"method": [5]},
    "secrets: {a: 5}": {"secrets": {"a": 5}},
    "extensions: [5]": {"extensions": [5]},
    "configuration env without key": {"configuration": {"x": {"type": "env"}}},
    "hypothesis probes: null": {"steady-state-hypothesis": {"title": "t", "probes": None}},
}


@pytest.mark.parametrize("changes", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_experiment_keys_of_the_wrong_type(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, object],
) -> None:
    path = _experiment(tmp_path, **changes)
    done = invoke(capsys, monkeypatch, tmp_path, "run", str(path), "--dry-run")
    assert done.code == ExitCode.USAGE, done.stderr
    assert done.line().startswith(f"drills: error: experiment {path}: $"), done.stderr
    assert not (tmp_path / "runs").exists()


def test_the_error_names_the_place(tmp_path: Path) -> None:
    path = _experiment(tmp_path, method=[{"type": "action", "name": "x", "provider": 5}])
    with pytest.raises(InputError, match=r"\$\.method\[0\]\.provider: 5 is not of type 'object'"):
        load_for_run(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_binary_experiment(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    path = tmp_path / f"b{suffix}"
    path.write_bytes(BINARY)
    done = invoke(capsys, monkeypatch, tmp_path, "run", str(path), "--dry-run")
    assert done.code == ExitCode.USAGE
    assert "is not UTF-8 text" in done.line()


def test_binary_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b.yaml"
    path.write_bytes(BINARY)
    done = invoke(capsys, monkeypatch, tmp_path, "run", "complete-outage", "--target", str(path))
    assert done.code == ExitCode.USAGE
    assert "is not UTF-8 text" in done.line()


@pytest.mark.parametrize(
    "text",
    ["x: 2024-13-45\n", "[" * 5000 + "]" * 5000, "a: &a [*a]\n", "? [1, 2]\n: x\n", "x: .inf\n"],
    ids=["bad-date", "deep", "recursive-alias", "list-key", "infinity"],
)
def test_yaml_that_is_not_plain_data(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text("title: t\ndescription: d\nmethod: []\n" + text if text[0] != "[" else text)
    done = invoke(capsys, monkeypatch, tmp_path, "run", str(path), "--dry-run")
    assert done.code == ExitCode.USAGE, done.stderr
    assert done.line().startswith("drills: error: experiment"), done.stderr


def test_aliases_that_fan_out_are_refused_quickly(tmp_path: Path) -> None:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "laughs.yaml"
    path.write_text("title: t\ndescription: d\nmethod: []\n" + "\n".join(lines) + "\n")
    with pytest.raises(InputError, match="more than 200000 values"):
        load_for_run(path)  # 10**9 values if walked: refused after 200 000


@pytest.mark.parametrize("name", sorted(p.name for p in EXPERIMENTS_DIR.glob("*.yaml")))
def test_every_shipped_experiment_has_the_shape(name: str) -> None:
    assert load_for_run(EXPERIMENTS_DIR / name)["method"]


def _state(tmp_path: Path, **changes: object) -> Path:
    state_dir = tmp_path / "sandbox"
    state_dir.mkdir()
    components = {
        c: {"processes": [], "replicas": 1}
        for c in ("control-plane", "postgres", "postgres-standby", "redis")
    }
    document: dict[str, object] = {
        "schema": "drills.sandbox/v1",
        "sandbox_id": "abc",
        "created_at": "2026-01-01T00:00:00+00:00",
        "ports": {"control-plane": 1, "postgres": 2, "postgres-standby": 3, "redis": 4},
        "components": components,
    }
    document.update(changes)
    (state_dir / "state.json").write_text(json.dumps(document).replace("1e999", "1e400"))
    return state_dir


STATES = {
    "components: {}": {"components": {}},
    "port 1e400": {"ports": {"control-plane": 1e999}},
    "ports: []": {"ports": []},
    "pid as text": {
        "components": {"redis": {"processes": [{"pid": "x", "create_time": 1}], "replicas": 1}}
    },
}


@pytest.mark.parametrize("changes", STATES.values(), ids=STATES.keys())
def test_corrupt_state_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, object],
) -> None:
    state_dir = _state(tmp_path, **changes)
    with pytest.raises(StateDirError, match="corrupt sandbox state file"):
        load_state(Layout(state_dir))
    done = invoke(capsys, monkeypatch, tmp_path, "sandbox", "status", "--state-dir", str(state_dir))
    assert done.code == ExitCode.USAGE, done.stderr
    assert "corrupt sandbox state file" in done.line()


def test_binary_state_file(tmp_path: Path) -> None:
    state_dir = tmp_path / "sandbox"
    state_dir.mkdir()
    (state_dir / "state.json").write_bytes(BINARY)
    with pytest.raises(StateDirError, match="corrupt sandbox state file"):
        load_state(Layout(state_dir))


@pytest.mark.parametrize("dry_run", [False, True])
def test_sandbox_target_that_is_a_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    dry_run: bool,
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    args = ["run", "complete-outage", "--target", f"sandbox:{a_file}"]
    done = invoke(capsys, monkeypatch, tmp_path, *args, *(["--dry-run"] if dry_run else []))
    assert done.code == ExitCode.USAGE, done.stderr
    assert "is not a directory" in done.line()
    assert not (tmp_path / "runs").exists()


def test_sandbox_target_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nonexistent"
    done = invoke(
        capsys, monkeypatch, tmp_path, "run", "complete-outage", "--target", f"sandbox:{missing}"
    )
    assert done.code == ExitCode.USAGE, done.stderr
    assert f"no sandbox in {missing}" in done.line()
    assert not (tmp_path / "runs").exists()


def test_binary_profile_for_schedule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b.yaml"
    path.write_bytes(BINARY)
    args = ("schedule", "--emit", "kubernetes", "--namespace", "ns", "--image", "drills:1")
    done = invoke(capsys, monkeypatch, tmp_path, *args, "--profile", str(path))
    assert done.code == ExitCode.USAGE
    assert "not UTF-8 text" in done.line()


@pytest.mark.parametrize(
    "command", [("up",), ("down",), ("restart", "postgres"), ("logs", "redis"), ("status",)]
)
def test_sandbox_state_dir_under_a_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
) -> None:
    """`sandbox up|restart|logs --state-dir FILE/x` was an internal error (exit 4)."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    state_dir = a_file / "box"
    done = invoke(capsys, monkeypatch, tmp_path, "sandbox", *command, "--state-dir", str(state_dir))
    assert done.code == ExitCode.USAGE, done.stderr
    assert f"{state_dir} is not a directory" in done.line()
    assert a_file.read_text() == "x"


@pytest.mark.parametrize("inside", [False, True], ids=["the-dir", "below-it"])
def test_sandbox_up_on_a_read_only_state_dir(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    read_only_dir: Path,
    inside: bool,
) -> None:
    """`sandbox up --state-dir` on a read-only file system was an internal error (exit 4)."""
    state_dir = read_only_dir / "box" if inside else read_only_dir
    done = invoke(capsys, monkeypatch, tmp_path, "sandbox", "up", "--state-dir", str(state_dir))
    assert done.code == ExitCode.USAGE, done.stderr
    assert done.line().startswith(f"drills: error: --state-dir {state_dir} cannot be used: ")
