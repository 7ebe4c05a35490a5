"""The last boundary: an exception nobody expected becomes one line, a log file and exit code 4.

A traceback on the terminal and Python's exit code 1 would read as "objective missed" to a CI
gate. Instead the traceback goes to a file under `$DRILLS_HOME/logs/` (the temp directory when
that cannot be written), and the user gets one line that says where it is. The same holds for a
background thread that dies of an exception: its traceback goes to the log, not over the display.
"""

from __future__ import annotations

import os
import tempfile
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import click

__all__ = ["install_thread_hook", "report_crash", "write_crash_log"]


def _log_dirs() -> list[Path]:
    dirs: list[Path] = []
    try:
        from drills.settings import Settings

        dirs.append(Settings.from_environ().home / "logs")
    except Exception:  # broken settings must not hide the crash we are reporting
        pass
    dirs.append(Path(tempfile.gettempdir()))
    return dirs


def write_crash_log(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
    where: str = "drills",
) -> Path | None:
    """Write the traceback to a new file; its path (None if no directory could take it)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    text = f"{where} crashed at {stamp} (pid {os.getpid()})\n" + "".join(
        traceback.format_exception(exc_type, exc, tb)
    )
    for directory in _log_dirs():
        path = directory / f"drills-crash-{stamp}-{os.getpid()}.log"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        return path
    return None


def _summary(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= 200 else text[:199] + "…"


def report_crash(exc: BaseException, where: str = "drills") -> None:
    """One line on stderr: what happened, and where the traceback is."""
    log = write_crash_log(type(exc), exc, exc.__traceback__, where)
    pointer = f"traceback in {log}" if log else "no log could be written"
    click.echo(f"drills: internal error in {where}: {_summary(exc)} ({pointer})", err=True)


def install_thread_hook() -> None:
    """A background thread's uncaught exception: one line and a log, not a traceback."""

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "a thread"
        report_crash(args.exc_value, f"thread {name}")

    threading.excepthook = hook
