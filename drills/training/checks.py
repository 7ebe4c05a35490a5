"""Is the incident really over? The scenario's own steady-state hypothesis, asked again.

`drills train resolve` is the trainee's claim; this module checks it the way Chaos Toolkit checks
a steady state: every probe of the experiment's `steady-state-hypothesis` against its tolerance.
For a data fault the service may answer while serving bad data, so the integrity check must also
find no corrupt row. Read-only: nothing here changes the target.
"""

from __future__ import annotations

import importlib
from typing import Any

from drills.targets.registry import CONFIG_KEY

__all__ = ["failing_checks"]


def _probe_failure(probe: dict[str, Any], configuration: dict[str, Any]) -> str | None:
    from chaoslib.hypothesis import within_tolerance

    provider = probe.get("provider") or {}
    name = str(probe.get("name", "?"))
    if provider.get("type") != "python":
        return None  # only our own probes can be asked from here
    try:
        func = getattr(importlib.import_module(provider["module"]), provider["func"])
        value = func(**(provider.get("arguments") or {}), configuration=configuration)
    except Exception as exc:  # a probe that cannot answer is a failing check, with its reason
        return f"{name}: {exc}"
    if not within_tolerance(probe.get("tolerance"), value, configuration, {}):
        return f"{name}: {value!r} (expected {probe.get('tolerance')!r})"
    return None


def failing_checks(experiment: dict[str, Any], target_key: str, data_fault: bool) -> list[str]:
    """What still fails (empty: the steady state holds)."""
    configuration = {CONFIG_KEY: target_key}
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    failing = [
        failure
        for probe in hypothesis.get("probes") or []
        if isinstance(probe, dict)
        for failure in [_probe_failure(probe, configuration)]
        if failure is not None
    ]
    if data_fault:
        from chaoslib.exceptions import ActivityFailed

        from drills.probes.database import integrity_check

        try:
            report = integrity_check(configuration)
        except ActivityFailed as exc:
            failing.append(f"integrity check: {exc}")
        else:
            if not report["ok"]:
                failing.append(f"integrity check: {report['corrupt_rows']} corrupt rows")
    return failing
