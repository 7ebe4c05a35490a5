"""What an experiment declares about itself to drills: its `drills` extension.

Chaos Toolkit keeps tool-specific data of an experiment in `extensions`, a list of mappings each
with a `name`. Drills reads the one named `drills`:

    extensions:
      - name: drills
        outage_expected: false

`outage_expected: false` is for drills whose fault is a test that must not break the service (the
backup-restore test restores into a scratch instance while the system keeps serving). The engine's
rule that a fault without a detectable failure proves nothing (`invalid`) does not fit them; how
such a drill is judged instead is decided with every other verdict, in `drills.verdict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["EXTENSION_NAME", "outage_expected"]

EXTENSION_NAME = "drills"


def _extension(experiment: Mapping[str, Any]) -> Mapping[str, Any]:
    for entry in experiment.get("extensions") or []:
        if isinstance(entry, Mapping) and entry.get("name") == EXTENSION_NAME:
            return entry
    return {}


def outage_expected(experiment: Mapping[str, Any]) -> bool:
    """False only when the experiment says so (`outage_expected: false`)."""
    return _extension(experiment).get("outage_expected", True) is not False
