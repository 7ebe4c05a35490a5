"""`chaos discover`: every probe and action this project ships, in Chaos Toolkit's format.

`chaos discover drills` looks for a `discover` function in the distribution's top-level package;
discovery lists each module's `__all__` functions with their docstrings (the user documentation)
and arguments, probe modules as probes and action modules as actions, never one as the other
(the mistake chaostoolkit-kubernetes's hand-written list makes).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

__all__ = ["discover"]


def _modules(package: str) -> list[str]:
    module = importlib.import_module(package)
    return sorted(f"{package}.{info.name}" for info in pkgutil.iter_modules(module.__path__))


def discover(discover_system: bool = True) -> dict[str, Any]:
    """The discovery document: the extension's name and version, and its activities."""
    from chaoslib.discovery.discover import discover_activities, initialize_discovery_result

    from drills import __version__

    discovery: dict[str, Any] = initialize_discovery_result("drills", __version__, "drills")
    for package, kind in (("drills.probes", "probe"), ("drills.actions", "action")):
        for module in _modules(package):
            discovery["activities"].extend(discover_activities(module, kind))
    return discovery
