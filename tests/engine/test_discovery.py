"""`chaos discover`: our probes and actions in Chaos Toolkit's discovery format, each as its kind."""

from __future__ import annotations

import inspect

from chaoslib.discovery.package import get_discover_function

import drills
from drills.discovery import discover


def test_discovery_lists_every_exported_probe_and_action_as_its_kind() -> None:
    found = discover(discover_system=False)
    assert found["extension"] == {"name": "drills", "version": drills.__version__}
    kinds = {(a["mod"], a["name"]): a["type"] for a in found["activities"]}
    assert kinds[("drills.probes.http", "health_ok")] == "probe"
    assert kinds[("drills.actions.components", "kill_components")] == "action"
    assert kinds[("drills.actions.components", "freeze_components")] == "action"
    assert all(t == "probe" for (mod, _), t in kinds.items() if mod.startswith("drills.probes."))
    assert all(t == "action" for (mod, _), t in kinds.items() if mod.startswith("drills.actions."))
    for activity in found["activities"]:  # discovery shows the docstrings as user docs
        assert activity["doc"], activity["name"]


def test_chaos_discover_finds_the_function_in_the_only_top_level_package() -> None:
    func = get_discover_function(drills)
    assert inspect.signature(func).parameters["discover_system"].default is True
