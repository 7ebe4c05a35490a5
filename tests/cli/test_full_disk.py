"""A full disk under the run folder: measuring goes on, the verdict is said, exit 5 (issue 9).

On the landed main, with 60 KB free, all four sampler threads died of ENOSPC, the live view froze
on "all DOWN" while the service had recovered, and the run ended in a traceback with no report and
no history row. The disk here is real: a 64 KiB tmpfs (mounting one needs root; skipped otherwise).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.chaosrun import chaostoolkit_log
from drills.errors import ExitCode
from drills.history import History
from drills.timeline import JsonlAppender, read_jsonl
from tests.cli.invoke import invoke
from tests.tmpfs import mounted_tmpfs


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: fills within seconds of a drill's timeline and canary journal."""
    path = tmp_path / "tiny"
    path.mkdir()
    with mounted_tmpfs(path, "size=64k"):
        yield path


def test_appends_on_a_full_disk_are_counted_not_raised(tiny_disk: Path) -> None:
    appender = JsonlAppender(tiny_disk / "timeline.jsonl", sync_seconds=0.0)
    errors: list[BaseException] = []
    written = [0, 0, 0, 0]

    def sampler(index: int) -> None:
        try:
            for seq in range(2000):
                if appender.append({"type": "sample", "signal": f"s{index}", "seq": seq}):
                    written[index] += 1
        except BaseException as exc:  # the sampler threads died of exactly this on main
            errors.append(exc)

    threads = [threading.Thread(target=sampler, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    appender.close()
    assert errors == []
    assert appender.failed_writes > 0 and sum(written) + appender.failed_writes == 8000
    assert appender.problem() is not None and "No space left on device" in appender.problem()
    records = list(read_jsonl(tiny_disk / "timeline.jsonl"))
    assert 0 < len(records) <= sum(written)  # what was written reads back (a torn line skipped)


@pytest.mark.slow
@pytest.mark.integration
def test_a_drill_on_a_full_disk_still_says_its_verdict(
    tmp_path: Path,
    tiny_disk: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("DRILLS_BASELINE", "2")
    out = tiny_disk / "run"
    done = invoke(capsys, monkeypatch, home, "run", "complete-outage", "--out", str(out))
    assert done.code == ExitCode.UNRECORDED == 5, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("drills: ")]
    assert len(said) == 1, done.stderr
    assert said[0].startswith("drills: MET complete-outage: ")
    assert f"the run folder {out} could not be written (No space left on device)" in said[0]
    assert "Traceback" not in done.stderr
    with History(home / "history.sqlite") as history:
        (run,) = history.runs()
    assert run.verdict.value == "met"
    assert run.rto_seconds is not None and run.rto_seconds > 0
    # the samplers kept measuring after the disk filled: the timeline on disk stops early,
    # while the verdict came from every sample, kept in memory
    on_disk = list(read_jsonl(out / "timeline.jsonl"))
    assert on_disk and json.dumps(on_disk[0]).startswith('{"type": "run"')


def _fill(disk: Path) -> None:
    """Leave no free block on `disk`."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * 4096):
                pass
    finally:
        os.close(fd)


def test_chaos_toolkits_log_on_a_full_disk_is_dropped_not_raised(tiny_disk: Path) -> None:
    run_dir = tiny_disk / "run"
    run_dir.mkdir()
    _fill(tiny_disk)
    with chaostoolkit_log(run_dir):  # closing it flushed into a full disk: OSError on main
        logging.getLogger("chaostoolkit").info("a line that cannot reach the disk " * 100)


@pytest.mark.slow
@pytest.mark.integration
def test_a_drill_on_a_disk_full_before_it_starts_still_says_its_verdict(
    tmp_path: Path,
    tiny_disk: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's `--out` on a full disk: on main, exit 4 (OSError closing Chaos Toolkit's log),
    no verdict and no history row."""
    home = tmp_path / "home"
    monkeypatch.setenv("DRILLS_BASELINE", "2")
    _fill(tiny_disk)
    out = tiny_disk / "run"
    done = invoke(capsys, monkeypatch, home, "run", "complete-outage", "--out", str(out))
    assert done.code == ExitCode.UNRECORDED, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("drills: ")]
    assert len(said) == 1 and said[0].startswith("drills: MET complete-outage: "), done.stderr
    assert "could not be written (No space left on device)" in said[0]
    with History(home / "history.sqlite") as history:
        (run,) = history.runs()
    assert run.verdict.value == "met"


def test_sandbox_up_on_a_full_disk_is_one_line(
    tmp_path: Path,
    tiny_disk: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On main: an OSError saving the state file, internal error (exit 4)."""
    _fill(tiny_disk)
    state_dir = tiny_disk / "box"
    done = invoke(capsys, monkeypatch, tmp_path, "sandbox", "up", "--state-dir", str(state_dir))
    assert done.code == ExitCode.USAGE, done.stderr
    assert done.line() == (
        f"drills: error: cannot write sandbox state file {state_dir / 'state.json'}: "
        "No space left on device"
    )
    assert not [p for p in state_dir.iterdir() if p.name.startswith(".state-")]  # no torn file
