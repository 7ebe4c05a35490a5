"""Reading the DR runbook itself: its steps, their drift from a target, drill coverage, drafts."""

from drills.runbook.model import Runbook, Scenario
from drills.runbook.reader import read_runbook, read_runbook_text

__all__ = ["Runbook", "Scenario", "read_runbook", "read_runbook_text"]
