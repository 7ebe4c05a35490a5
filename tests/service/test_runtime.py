"""The runtime file: written atomically by the harness, polled by every replica."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drills.errors import InputError
from drills.targets.sandbox.service import RuntimeState, load_runtime, write_runtime
from drills.targets.sandbox.service.runtime import RuntimeWatcher


def test_absent_file_means_defaults(tmp_path: Path) -> None:
    assert load_runtime(tmp_path / "runtime.json") == RuntimeState()


def test_write_then_load(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    written = write_runtime(path, maintenance=True, rate_limit="50/second", deny=["127.0.0.9"])
    assert load_runtime(path) == written
    assert written == RuntimeState(True, "50/second", frozenset({"127.0.0.9"}))
    assert json.loads(path.read_text()) == {
        "maintenance": True,
        "rate_limit": "50/second",
        "deny": ["127.0.0.9"],
        "abort_share": 0.0,
        "delay_seconds": 0.0,
    }
    assert [p.name for p in tmp_path.iterdir()] == ["runtime.json"]  # no temp file left


def test_injected_http_faults_round_trip_and_bad_ones_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    written = write_runtime(path, abort_share=0.5, delay_seconds=1.2)
    assert load_runtime(path) == written
    assert (written.abort_share, written.delay_seconds) == (0.5, 1.2)
    for bad in ({"abort_share": 1.5}, {"delay_seconds": -1}, {"abort_share": "half"}):
        with pytest.raises(InputError, match="must be a number"):
            write_runtime(path, **bad)  # type: ignore[arg-type]
    assert load_runtime(path) == written  # nothing written


def test_bad_values_are_refused_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    write_runtime(path, maintenance=True)
    with pytest.raises(InputError, match="bad rate_limit"):
        write_runtime(path, rate_limit="fast please")
    assert load_runtime(path).maintenance is True


@pytest.mark.parametrize(
    "text",
    [
        "{broken",
        '{"maintenance": "yes"}',
        '{"deny": "127.0.0.1"}',
        '{"rate_limit": 5}',
        '{"maintenence": true}',
        "[]",
    ],
)
def test_malformed_files_are_input_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "runtime.json"
    path.write_text(text)
    with pytest.raises(InputError):
        load_runtime(path)


def test_watcher_follows_changes_and_keeps_last_good(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    watcher = RuntimeWatcher(path)
    assert watcher.poll() is False  # absent: defaults, nothing changed
    assert watcher.current == RuntimeState()

    write_runtime(path, maintenance=True)
    assert watcher.poll() is True
    assert watcher.current.maintenance is True
    assert watcher.poll() is False  # unchanged file: not re-read

    path.write_text('{"maintenance": false, "rate_limit": "nonsense"}')
    assert watcher.poll() is False
    assert watcher.current.maintenance is True  # the malformed file is ignored

    write_runtime(path, deny=["127.0.0.2"])
    assert watcher.poll() is True
    assert watcher.current == RuntimeState(deny=frozenset({"127.0.0.2"}))

    path.unlink()
    assert watcher.poll() is True
    assert watcher.current == RuntimeState()
