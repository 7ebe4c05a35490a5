"""Moving runs between histories: JSON lines, one run or baseline mark per line.

`drills history export` and `import` carry a CI runner's SQLite file into a team history (or back,
or into a bug report). Each line is self-describing (`"type": "run"` or `"baseline-mark"`), the
stored report travels as a nested object, and an import is all or nothing: a bad line names its
line number and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from drills.clock import iso
from drills.errors import InputError
from drills.history import BaselineMark, History, HistoryRun
from drills.models import RunStatus, Verdict

__all__ = ["export_lines", "import_lines"]

RUN = "run"
MARK = "baseline-mark"
_NUMBERS = ("rto_seconds", "rpo_seconds", "ttd_seconds", "downtime_seconds", "p95_fault_seconds")


def _run_json(run: HistoryRun) -> dict[str, Any]:
    return {
        "type": RUN,
        "run_id": run.run_id,
        "invocation_id": run.invocation_id,
        "scenario": run.scenario,
        "target_name": run.target_name,
        "target_kind": run.target_kind,
        "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
        "status": run.status.value,
        "verdict": run.verdict.value,
        "verdict_reason": run.verdict_reason,
        **{name: getattr(run, name) for name in _NUMBERS},
        "writes_lost": run.writes_lost,
        "run_dir": run.run_dir,
        "report": run.report(),
    }


def _mark_json(mark: BaselineMark) -> dict[str, Any]:
    return {
        "type": MARK,
        "scenario": mark.scenario,
        "action": mark.action,
        "run_ids": list(mark.run_ids),
        "reason": mark.reason,
        "at": iso(mark.at),
    }


def export_lines(history: History, scenario: str | None = None) -> Iterator[str]:
    """Every run (oldest first), then every baseline mark, as JSON lines."""
    for run in history.all_runs():
        if scenario is None or run.scenario == scenario:
            yield json.dumps(_run_json(run), ensure_ascii=False)
    for mark in history.marks():
        if scenario is None or mark.scenario == scenario:
            yield json.dumps(_mark_json(mark), ensure_ascii=False)


def _instant(value: Any) -> datetime:
    instant = datetime.fromisoformat(str(value))
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} must be a non-empty string")
    return value


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{key!r} must be a number or null")
    return None if value is None else float(value)


def _run(data: dict[str, Any]) -> HistoryRun:
    report = data.get("report")
    if report is not None and not isinstance(report, dict):
        raise ValueError("'report' must be an object or null")
    lost = data.get("writes_lost")
    if lost is not None and (isinstance(lost, bool) or not isinstance(lost, int)):
        raise ValueError("'writes_lost' must be an integer or null")
    run_id = _text(data, "run_id")
    return HistoryRun(
        run_id=run_id,
        scenario=_text(data, "scenario"),
        target_name=_text(data, "target_name"),
        target_kind=_text(data, "target_kind"),
        started_at=_instant(_text(data, "started_at")),
        ended_at=_instant(_text(data, "ended_at")),
        status=RunStatus(_text(data, "status")),
        verdict=Verdict(_text(data, "verdict")),
        rto_seconds=_number(data, "rto_seconds"),
        rpo_seconds=_number(data, "rpo_seconds"),
        writes_lost=lost,
        report_json=None if report is None else json.dumps(report, ensure_ascii=False),
        invocation_id=str(data.get("invocation_id") or run_id),
        verdict_reason=str(data.get("verdict_reason") or ""),
        ttd_seconds=_number(data, "ttd_seconds"),
        downtime_seconds=_number(data, "downtime_seconds"),
        p95_fault_seconds=_number(data, "p95_fault_seconds"),
        run_dir=data.get("run_dir") if isinstance(data.get("run_dir"), str) else None,
    )


def _mark(data: dict[str, Any]) -> BaselineMark:
    action = _text(data, "action")
    if action not in ("pin", "reset"):
        raise ValueError(f"'action' must be pin or reset, not {action!r}")
    run_ids = data.get("run_ids")
    if not isinstance(run_ids, list) or not all(isinstance(r, str) for r in run_ids):
        raise ValueError("'run_ids' must be a list of strings")
    at = _instant(_text(data, "at"))
    return BaselineMark(_text(data, "scenario"), action, tuple(run_ids), _text(data, "reason"), at)


def import_lines(history: History, lines: Iterable[str], source: str) -> tuple[int, int]:
    """Read every line first, then store all of it in one transaction: (runs, marks)."""
    runs: list[HistoryRun] = []
    marks: list[BaselineMark] = []
    try:
        numbered = list(enumerate(lines, 1))
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text ({exc.reason})") from None
    for number, line in numbered:
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            kind = data.get("type")
            if kind == RUN:
                runs.append(_run(data))
            elif kind == MARK:
                marks.append(_mark(data))
            else:
                raise ValueError(f"'type' must be {RUN!r} or {MARK!r}, not {kind!r}")
        except ValueError as exc:  # json.JSONDecodeError and bad enum values included
            raise InputError(f"{source}:{number}: {exc}") from None
    history.insert(runs, marks)
    return len(runs), len(marks)
