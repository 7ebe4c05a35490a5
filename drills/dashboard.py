"""A Grafana dashboard over the series `drills.metrics` exports: `drills dashboard --emit grafana`.

The runbook's monitoring is Prometheus and Grafana; this puts the drills beside it: the last
verdict, RTO and data loss window of every scenario against the runbook's objectives (drawn as
threshold lines), acknowledged writes lost, how long since each drill last ran, and which drills
the cadence says are overdue. The JSON is Grafana's dashboard model (import it, or provision it
from a file); the Prometheus data source is a dashboard variable, so it fits any Grafana.
"""

from __future__ import annotations

import re
from typing import Any

from drills.metrics import DUE_SERIES, RUN_SERIES
from drills.objectives import ObjectiveTargets

__all__ = ["DASHBOARD_UID", "EXPORTED_SERIES", "grafana_dashboard", "queried_series"]

DASHBOARD_UID = "drills-dr-results"
_DS = {"type": "prometheus", "uid": "${datasource}"}
_SELECTOR = 'scenario=~"$scenario", target=~"$target"'


def _target(
    expr: str, legend: str = "", *, ref: str = "A", instant: bool = False
) -> dict[str, Any]:
    target: dict[str, Any] = {"datasource": _DS, "expr": expr, "refId": ref}
    if legend:
        target["legendFormat"] = legend
    if instant:
        target.update(instant=True, range=False, format="table")
    return target


def _grid(x: int, y: int, w: int, h: int) -> dict[str, int]:
    return {"x": x, "y": y, "w": w, "h": h}


def _thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


def _stat(
    title: str, expr: str, grid: dict[str, int], unit: str, steps: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "stat",
        "title": title,
        "datasource": _DS,
        "gridPos": grid,
        "targets": [_target(expr)],
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": steps}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
    }


def _timeseries(
    title: str, expr: str, grid: dict[str, int], unit: str, objective: float, description: str
) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": _DS,
        "gridPos": grid,
        "targets": [_target(expr, "{{scenario}} on {{target}}")],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "custom": {
                    "drawStyle": "line",
                    "showPoints": "always",
                    "thresholdsStyle": {"mode": "line+area"},
                },
                "thresholds": _thresholds((None, "green"), (objective, "red")),
            },
            "overrides": [],
        },
    }


def _table(title: str, targets: list[dict[str, Any]], grid: dict[str, int]) -> dict[str, Any]:
    return {
        "type": "table",
        "title": title,
        "datasource": _DS,
        "gridPos": grid,
        "targets": targets,
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True}}},
        ],
        "fieldConfig": {"defaults": {}, "overrides": []},
    }


def _variable(name: str, series: str) -> dict[str, Any]:
    query = f"label_values({series}, {name})"
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": _DS,
        "query": {"query": query, "refId": f"{name}-values"},
        "definition": query,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "refresh": 2,
        "sort": 1,
    }


def grafana_dashboard(objectives: ObjectiveTargets | None = None) -> dict[str, Any]:
    """The dashboard model (Grafana 10+), thresholds from the runbook's objectives."""
    o = objectives or ObjectiveTargets()
    s = _SELECTOR
    ok_bad = _thresholds((None, "green"), (1, "red"))
    panels = [
        _stat(
            "Drills not met",
            f'count(drills_verdict{{{s}, verdict!="met"}} == 1) or vector(0)',
            _grid(0, 0, 6, 4),
            "none",
            ok_bad,
        ),
        _stat(
            "Overdue drills",
            'count(drills_overdue{scenario=~"$scenario"} == 1) or vector(0)',
            _grid(6, 0, 6, 4),
            "none",
            ok_bad,
        ),
        _stat(
            "Acknowledged writes lost (last runs)",
            f"sum(drills_writes_lost{{{s}}}) or vector(0)",
            _grid(12, 0, 6, 4),
            "none",
            ok_bad,
        ),
        _stat(
            "Longest since a drill ran",
            f"max(time() - drills_last_run_timestamp_seconds{{{s}}})",
            _grid(18, 0, 6, 4),
            "s",
            _thresholds((None, "green"), (31 * 86400, "orange"), (93 * 86400, "red")),
        ),
        _table(
            "Last drill per scenario",
            [
                _target(f"drills_verdict{{{s}}} == 1", ref="A", instant=True),
                _target(f"drills_rto_seconds{{{s}}}", ref="B", instant=True),
                _target(f"drills_rpo_seconds{{{s}}}", ref="C", instant=True),
                _target(f"drills_writes_lost{{{s}}}", ref="D", instant=True),
                _target(f"drills_last_run_timestamp_seconds{{{s}}} * 1000", ref="E", instant=True),
            ],
            _grid(0, 4, 24, 8),
        ),
        _timeseries(
            "Recovery time (RTO)",
            f"drills_rto_seconds{{{s}}}",
            _grid(0, 12, 12, 9),
            "s",
            o.rto_seconds,
            f"Fault to recovery, per drill run; the line is the runbook's objective ({o.rto_seconds:g} s).",
        ),
        _timeseries(
            "Data loss window (RPO)",
            f"drills_rpo_seconds{{{s}}}",
            _grid(12, 12, 12, 9),
            "s",
            o.rpo_seconds,
            f"Span of acknowledged writes lost, per drill run; the line is the objective ({o.rpo_seconds:g} s).",
        ),
        _table(
            "Cadence: when each drill is due",
            [
                _target('drills_overdue{scenario=~"$scenario"}', ref="A", instant=True),
                _target(
                    'drills_due_timestamp_seconds{scenario=~"$scenario"} * 1000',
                    ref="B",
                    instant=True,
                ),
                _target(
                    'drills_last_proven_run_timestamp_seconds{scenario=~"$scenario"} * 1000',
                    ref="C",
                    instant=True,
                ),
            ],
            _grid(0, 21, 24, 8),
        ),
    ]
    for index, panel in enumerate(panels, start=1):
        panel["id"] = index
    return {
        "uid": DASHBOARD_UID,
        "title": "DR drills: recovery time and data loss",
        "description": "Results of `drills run` and `drills due`, exported as Prometheus series.",
        "tags": ["drills", "disaster-recovery", "chaos"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-90d", "to": "now"},
        "refresh": "5m",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                },
                _variable("scenario", "drills_last_run_timestamp_seconds"),
                _variable("target", "drills_last_run_timestamp_seconds"),
            ]
        },
        "panels": panels,
    }


def queried_series(dashboard: dict[str, Any]) -> set[str]:
    """Every `drills_*` series name the dashboard's queries and variables read."""
    texts = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    texts += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return {name for text in texts for name in re.findall(r"\bdrills_[a-z_]+", text)}


EXPORTED_SERIES = frozenset(RUN_SERIES) | frozenset(DUE_SERIES)
