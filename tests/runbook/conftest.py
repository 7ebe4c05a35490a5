"""The runbook the tests read: a byte-for-byte copy of the shared DR runbook."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.runbook import Runbook, read_runbook

RUNBOOK = Path(__file__).with_name("runbook.md")


@pytest.fixture(scope="session")
def runbook() -> Runbook:
    return read_runbook(RUNBOOK)
