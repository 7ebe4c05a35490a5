"""The run folder is checked before anything starts; refusals leave no folder behind (issue 9).

On the landed main an `--out` that was a file, under a file or read-only was a traceback (the
read-only one only after a sandbox had started), an `--out` of an earlier run silently merged two
runs into one timeline, and refusals left empty run folders.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drills.errors import ExitCode
from tests.cli.invoke import invoke


def _refused(done_stderr: str, done_stdout: str) -> None:
    assert "Starting a fresh sandbox" not in done_stderr + done_stdout  # nothing started


def test_out_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "a-file"
    out.write_text("mine")
    done = invoke(capsys, monkeypatch, tmp_path, "run", "complete-outage", "--out", str(out))
    assert done.code == ExitCode.USAGE
    assert done.line() == f"drills: error: --out {out} is a file"
    assert out.read_text() == "mine"
    _refused(done.stderr, done.stdout)


def test_out_under_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = tmp_path / "a-file"
    parent.write_text("mine")
    out = parent / "run"
    done = invoke(capsys, monkeypatch, tmp_path, "run", "complete-outage", "--out", str(out))
    assert done.code == ExitCode.USAGE
    assert done.line() == f"drills: error: --out {out} is under {parent}, which is a file"
    _refused(done.stderr, done.stdout)


def test_out_of_an_earlier_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "earlier"
    out.mkdir()
    (out / "timeline.jsonl").write_text('{"type":"run","run_id":"earlier"}\n')
    done = invoke(capsys, monkeypatch, tmp_path, "run", "complete-outage", "--out", str(out))
    assert done.code == ExitCode.USAGE
    assert "is not empty (an earlier run's folder?)" in done.line()
    assert (out / "timeline.jsonl").read_text().count("\n") == 1  # nothing merged into it
    _refused(done.stderr, done.stdout)


def test_read_only_out_is_refused_before_a_sandbox_starts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    read_only_dir: Path,
) -> None:
    out = read_only_dir / "run"
    done = invoke(capsys, monkeypatch, tmp_path, "run", "complete-outage", "--out", str(out))
    assert done.code == ExitCode.USAGE, done.stderr
    assert done.line().startswith(f"drills: error: --out {out} is not writable")
    _refused(done.stderr, done.stdout)


def test_a_refusal_leaves_no_empty_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "prod.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "kind": "kubernetes",
                "name": "p",
                "environment": "staging",
                "kubernetes": {"namespace": "intelgraph-prod", "kubeconfig": str(tmp_path / "k")},
                "components": {"control-plane": "deployment/api"},
                "services": {"control_plane": "http://127.0.0.1:1"},
            }
        )
    )
    (tmp_path / "k").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "staging", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "staging",
            }
        )
    )
    out = tmp_path / "new" / "deeper" / "run"
    args = ("run", "complete-outage", "--target", str(profile), "--out", str(out))
    done = invoke(capsys, monkeypatch, tmp_path, *args)
    assert done.code == ExitCode.ABORTED, done.stderr
    assert "looks like production" in done.line()
    assert not (tmp_path / "new").exists()
    # the default folder under $DRILLS_HOME/runs is removed the same way
    done = invoke(capsys, monkeypatch, tmp_path, *args[:4])
    assert done.code == ExitCode.ABORTED
    assert not any((tmp_path / "runs").glob("*"))  # neither the run's folder nor `runs/` left


def test_suite_out_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "a-file"
    out.write_text("mine")
    done = invoke(capsys, monkeypatch, tmp_path, "run", "--suite", "quarterly", "--out", str(out))
    assert done.code == ExitCode.USAGE, done.stderr
    assert done.line() == f"drills: error: --out {out} is a file"
