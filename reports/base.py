"""The one renderer interface, and `write_all`, the only place that writes report files.

A renderer turns a finished `DrillResult` plus its evidence (the timeline samples and, when a
canary ran, its `CanaryLog`) into the text of one file; it runs nothing and touches no file. `write_all` renders every format first and only then writes
each file atomically (temporary file in the same folder, fsync, `os.replace`), so a reader never
sees a half-written report and a rendering bug leaves the previous reports untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from drills.errors import DrillError, ExitCode
from drills.models import CanaryLog, DrillResult, Sample
from drills.reports.html import HtmlRenderer
from drills.reports.json_report import JsonRenderer
from drills.reports.junit import JUnitRenderer
from drills.reports.markdown import MarkdownRenderer


class ReportError(DrillError):
    """The reports of a run could not be written."""

    exit_code = ExitCode.ABORTED


class Renderer(Protocol):
    """Turns a finished run into the text of one file named `filename`."""

    filename: str

    def render(
        self, result: DrillResult, samples: Sequence[Sample], canary: CanaryLog | None = None
    ) -> str: ...


def default_renderers() -> tuple[Renderer, ...]:
    """report.json, report.md, report.html and junit.xml, in that order."""
    return (JsonRenderer(), MarkdownRenderer(), HtmlRenderer(), JUnitRenderer())


def write_atomic(path: Path, text: str) -> None:
    """Write UTF-8 `text` to `path` so that readers see the old file or the whole new one."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_all(
    result: DrillResult,
    samples: Sequence[Sample],
    out_dir: Path,
    *,
    renderers: Sequence[Renderer] | None = None,
    canary: CanaryLog | None = None,
) -> list[Path]:
    """Render every report of a finished run into `out_dir`; returns the paths written, in order.

    Raises `ReportError` when the folder or a file cannot be written.
    """
    chosen = default_renderers() if renderers is None else tuple(renderers)
    texts = [(r.filename, r.render(result, samples, canary)) for r in chosen]
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for filename, text in texts:
            path = out_dir / filename
            write_atomic(path, text)
            written.append(path)
    except OSError as exc:
        raise ReportError(f"cannot write reports into {out_dir}: {exc}") from exc
    return written
