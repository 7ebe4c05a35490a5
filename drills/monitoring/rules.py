"""The alert rules file: read it, find the rule of each runbook condition, compress its durations,
print it for Prometheus or the Prometheus Operator, and have `promtool` check it.

One file is the source (`rules.yml` beside this module, the runbook's durations); everything else
is derived from it, so the rules a drill proves are the rules a cluster runs.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from drills.errors import InputError
from drills.monitoring.conditions import Condition
from drills.monitoring.timing import Timing
from drills.yamlfiles import load_mapping

__all__ = [
    "CONDITION_LABEL",
    "SCRAPE_JOB",
    "SHIPPED_RULES",
    "AlertRule",
    "EmitFormat",
    "RuleSet",
    "check_with_promtool",
    "emit",
    "load_rules",
    "parse_duration",
    "promtool",
]

SHIPPED_RULES = Path(__file__).with_name("rules.yml")
SCRAPE_JOB = "maestro-control-plane"  # the job the shipped rules read (every replica's /metrics)
CONDITION_LABEL = "runbook_condition"
PROMTOOL = "promtool"

_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_RANGE = re.compile(r"\[((?:\d+(?:ms|s|m|h|d|w|y))+)(:(?:\d+(?:ms|s|m|h|d|w|y))*)?\]")


class EmitFormat(StrEnum):
    PROMETHEUS = "prometheus"  # a plain rules file (rule_files: in prometheus.yml)
    PROMETHEUS_RULE = "prometheus-rule"  # a monitoring.coreos.com/v1 PrometheusRule


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as `1m30s`; `InputError` for anything else."""
    if not _DURATION.match(text):
        raise InputError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(text))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for `seconds` (to the millisecond): 1m, 90s, 1500ms."""
    millis = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms" if millis else "0s"


@dataclass(frozen=True)
class AlertRule:
    name: str
    condition: Condition
    expr: str
    for_seconds: float

    @property
    def windowed(self) -> bool:
        """The expression reads a range of samples (a rate, an increase)."""
        return _RANGE.search(self.expr) is not None


@dataclass(frozen=True)
class RuleSet:
    """A parsed rules file: the document as written and its alerting rules by condition."""

    source: Path
    document: dict[str, Any]
    rules: dict[Condition, AlertRule]

    def rule_for(self, condition: Condition) -> AlertRule:
        try:
            return self.rules[condition]
        except KeyError:
            raise InputError(
                f"rules file {self.source} has no rule for the runbook condition "
                f"{condition.value!r} (label {CONDITION_LABEL}: {condition.value})"
            ) from None

    def scaled(self, timing: Timing) -> dict[str, Any]:
        """The document with every `for`, rate window and group interval at `timing`'s pace."""
        doc = copy.deepcopy(self.document)
        for group in doc["groups"]:
            group["interval"] = format_duration(timing.evaluation_interval_seconds)
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = format_duration(timing.scaled(parse_duration(str(rule["for"]))))
                rule["expr"] = _scale_ranges(str(rule["expr"]), timing)
        return doc


def _scale_ranges(expr: str, timing: Timing) -> str:
    def scale(match: re.Match[str]) -> str:
        window = format_duration(timing.range_window(parse_duration(match.group(1))))
        return f"[{window}{match.group(2) or ''}]"

    return _RANGE.sub(scale, expr)


def load_rules(path: Path | None = None) -> RuleSet:
    """Read and check the shape of a rules file (default: the shipped one)."""
    source = path or SHIPPED_RULES
    doc = load_mapping(source, "rules file")
    groups = doc.get("groups")
    if not isinstance(groups, list) or not groups:
        raise InputError(f"rules file {source}: expected a non-empty list under 'groups'")
    rules: dict[Condition, AlertRule] = {}
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
            raise InputError(f"rules file {source}: every group needs a list of 'rules'")
        for rule in group["rules"]:
            parsed = _alert_rule(source, rule)
            if parsed is not None:
                rules.setdefault(parsed.condition, parsed)
    return RuleSet(source, doc, rules)


def _alert_rule(source: Path, rule: object) -> AlertRule | None:
    if not isinstance(rule, dict) or "expr" not in rule:
        raise InputError(f"rules file {source}: a rule without 'expr'")
    if "alert" not in rule:
        return None  # a recording rule
    name = str(rule["alert"])
    labels = rule.get("labels") or {}
    condition_text = labels.get(CONDITION_LABEL) if isinstance(labels, dict) else None
    if condition_text is None:
        return None
    try:
        condition = Condition(str(condition_text))
    except ValueError:
        known = ", ".join(c.value for c in Condition)
        raise InputError(
            f"rules file {source}: alert {name} names an unknown runbook condition "
            f"{condition_text!r} (known: {known})"
        ) from None
    try:
        for_seconds = parse_duration(str(rule.get("for", "0s")))
    except InputError as exc:
        raise InputError(f"rules file {source}: alert {name}: {exc}") from None
    return AlertRule(name, condition, str(rule["expr"]), for_seconds)


def emit(ruleset: RuleSet, fmt: EmitFormat, *, name: str = "maestro-runbook-alerts") -> str:
    """The rules as a plain rules file or wrapped in a PrometheusRule."""
    if fmt is EmitFormat.PROMETHEUS:
        return ruleset.source.read_text(encoding="utf-8")
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "drills"}},
        "spec": {"groups": ruleset.document["groups"]},
    }
    return yaml.safe_dump(resource, sort_keys=False, width=100)


def promtool() -> str | None:
    """Path of `promtool` (Debian's `prometheus` package), None when not installed."""
    return shutil.which(PROMTOOL)


def check_with_promtool(document: dict[str, Any], what: str) -> None:
    """`promtool check rules` on the document; `InputError` with promtool's own complaint."""
    tool = promtool()
    if tool is None:
        raise InputError("promtool not found: install the Debian package 'prometheus'")
    with tempfile.TemporaryDirectory(prefix="drills-rules-") as scratch:
        path = Path(scratch) / "rules.yml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        done = subprocess.run(
            [tool, "check", "rules", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines()]
        complaint = next((ln for ln in lines if ln and "Checking" not in ln), "rejected")
        raise InputError(f"{what} does not pass promtool check rules: {complaint}")
