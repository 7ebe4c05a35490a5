"""A fresh sandbox: started for one command in a temp folder, and gone after it, whatever happens.

`drills run`, `drills train start` and `drills runbook check` without a target each start a
sandbox of their own. Its whole life is here, once: a private temp state dir; a warden that tears
it down if the harness dies, even of SIGKILL (`warden.py`); `up` with its progress said line by
line; and at the end `down(purge=True)` with Ctrl-C and SIGTERM deferred until it is removed (an
impatient second Ctrl-C must not leave servers behind) and a failure said, never swallowed.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from drills.interrupts import deferred_interrupts
from drills.targets.sandbox.warden import FRESH_PREFIX, Warden

if TYPE_CHECKING:
    from drills.targets.sandbox.driver import SandboxTarget

__all__ = ["fresh_sandbox", "fresh_state_dir"]


def fresh_state_dir() -> Path:
    """A private state dir the unprivileged PostgreSQL user (when we are root) can still reach."""
    path = Path(tempfile.mkdtemp(prefix=FRESH_PREFIX))
    path.chmod(0o711)
    return path


@contextlib.contextmanager
def fresh_sandbox(say: Callable[[str], None]) -> Iterator[SandboxTarget]:
    """A running sandbox of its own, as an open target; stopped and removed after the block
    (also when starting it failed or was interrupted)."""
    from drills.targets.sandbox.driver import SandboxTarget
    from drills.targets.sandbox.processes import Supervisor

    state_dir = fresh_state_dir()
    warden = Warden(state_dir)
    target: SandboxTarget | None = None
    try:
        warden.start()  # tears the sandbox down if this process dies, even of SIGKILL
        target = SandboxTarget(state_dir, supervisor=Supervisor())
        say(f"Starting a fresh sandbox in {state_dir} ...")
        started = time.monotonic()
        target.sandbox.progress = lambda line: say(f"  {line}")
        target.sandbox.up()
        say(f"Sandbox up in {time.monotonic() - started:.1f} s")
        yield target
    finally:
        with deferred_interrupts():
            try:
                if target is not None:
                    target.close()
            finally:
                _remove(state_dir, say)
                warden.dismiss()


def _remove(state_dir: Path, say: Callable[[str], None]) -> None:
    from drills.targets.sandbox.stack import Sandbox

    say("Stopping the sandbox ... (interrupts wait until it is removed)")
    try:
        Sandbox(state_dir).down(purge=True)
    except Exception as exc:  # said, never swallowed: leftover servers must not go unnoticed
        say(f"[red]could not stop the sandbox in {state_dir}: {exc}[/]")
