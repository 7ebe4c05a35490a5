"""Live progress of a drill: stage, elapsed time, current health, canary counts.

On a terminal it is one live panel redrawn four times a second; elsewhere (CI logs) it prints a
plain line when the stage or the health changes, and at most every five seconds otherwise.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from drills.canary import CanaryCounters
from drills.session import LiveView

STAGE_LABELS = {
    "steady-state-before": "checking steady state",
    "method": "fault and recovery",
    "steady-state-after": "verifying steady state",
    "rollback": "rolling back",
}


class DrillProgress:
    """Shows a running drill; `start` after the session starts, `stop` before reading results."""

    def __init__(
        self,
        title: str,
        view: LiveView,
        counters: CanaryCounters | None,
        *,
        console: Console | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.console = console or Console(file=stream, stderr=stream is None)
        self._title = title
        self._view = view
        self._counters = counters
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Live | None = None

    def _elapsed(self) -> float:
        return time.monotonic() - self._started

    def _stage(self) -> str:
        if self._view.note:
            return self._view.note
        stage = self._view.stage
        return STAGE_LABELS.get(stage.value, stage.value) if stage else "starting measurement"

    def _health(self) -> Text:
        text = Text()
        for name, ok in sorted(self._view.health.items()):
            text.append(f"{name} ", style="bold")
            text.append("up  " if ok else "DOWN  ", style="green" if ok else "bold red")
        return text

    def render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        table.add_row("drill", Text(self._title, style="bold"))
        table.add_row("elapsed", f"{self._elapsed():6.1f} s")
        stage = self._stage()
        if self._view.activity:
            stage += f" - {self._view.activity}"
        table.add_row("stage", stage)
        table.add_row("health", self._health())
        if self._counters is not None:
            c = self._counters
            table.add_row("canary", f"{c.acked} acked, {c.failed} failed")
        return table

    def _line(self) -> str:
        health = " ".join(
            f"{n}={'up' if ok else 'DOWN'}" for n, ok in sorted(self._view.health.items())
        )
        canary = ""
        if self._counters is not None:
            canary = f" | canary {self._counters.acked} acked {self._counters.failed} failed"
        activity = f" ({self._view.activity})" if self._view.activity else ""
        return f"[{self._elapsed():6.1f}s] {self._stage()}{activity} | {health}{canary}"

    def start(self) -> None:
        if self.console.is_terminal:
            self._live = Live(
                self.render(), console=self.console, refresh_per_second=4, transient=True
            )
            self._live.start()
            self._thread = threading.Thread(target=self._refresh_live, daemon=True)
        else:
            self._thread = threading.Thread(target=self._print_lines, daemon=True)
        self._thread.start()

    def _refresh_live(self) -> None:
        while not self._stop.wait(0.25):
            if self._live is not None:
                self._live.update(self.render())

    def _print_lines(self) -> None:
        last_key: tuple[object, ...] = ()
        last_print = 0.0
        while not self._stop.wait(0.25):
            key = (self._view.stage, self._view.activity, tuple(sorted(self._view.health.items())))
            if key != last_key or time.monotonic() - last_print >= 5.0:
                self.console.print(self._line(), highlight=False, soft_wrap=True)
                last_key, last_print = key, time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._live is not None:
            self._live.stop()
