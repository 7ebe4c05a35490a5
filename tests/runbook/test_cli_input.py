"""Bad input to `drills runbook`: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.cli.main import main
from tests.runbook.conftest import RUNBOOK

CASES = {
    "not-utf8.md": (b"# Ops\n\xff\xfe broken\n", "not UTF-8"),
    "notes.txt": (b"key: value\nother: thing\n", "no Markdown headings"),
    "empty.md": (b"", "no Markdown headings"),
    "contacts.md": (b"# Ops\n\n## Contacts\n\n- **SRE**: 1002\n", "no scenarios"),
}


@pytest.mark.parametrize("command", ["coverage", "scaffold", "check"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_runbooks(
    command: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, message = CASES[name]
    path = tmp_path / name
    path.write_bytes(content)
    extra = {"scaffold": ["--scenario", "1"], "check": ["--target", "sandbox:/nonexistent"]}
    with pytest.raises(SystemExit) as exc:
        main(["runbook", command, str(path), *extra.get(command, [])])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_a_missing_file_and_an_unknown_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["runbook", "coverage", str(tmp_path / "absent.md")])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["runbook", "scaffold", str(RUNBOOK), "--scenario", "Rollback"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no scenario 'Rollback'" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["coverage", "scaffold", "check"])
def test_a_directory_or_a_missing_scripts_dir_is_one_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = {"scaffold": ["--scenario", "1"], "check": ["--target", "sandbox:/nonexistent"]}
    with pytest.raises(SystemExit) as exc:
        main(["runbook", command, str(tmp_path), *extra.get(command, [])])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Is a directory" in err and len(err.strip().splitlines()) == 1, err
    if command == "check":
        missing = tmp_path / "no-such-dir"
        with pytest.raises(SystemExit) as exc:
            main(["runbook", "check", str(RUNBOOK), "--scripts-dir", str(missing)])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "no-such-dir" in err and len(err.strip().splitlines()) == 1, err
