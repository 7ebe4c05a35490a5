"""The sandbox's `monitoring` component: a real Prometheus, a real Alertmanager and the harness's
webhook receiver, on loopback ports of their own.

Prometheus scrapes every control-plane replica on the replica's own metrics port (the sandbox
rewrites the file-based target list whenever it starts replicas) and evaluates the runbook's alert
rules; Alertmanager routes every alert, ungrouped, to the receiver (`drills.monitoring.receiver`),
which writes each notification with its arrival time into the state directory. Binaries come from
Debian's `prometheus` and `prometheus-alertmanager` packages; without them the component is
`unavailable` and nothing else depends on it.

The pace (scrape and evaluation intervals, `for` durations, Alertmanager's group timings) is a
`Timing`; `apply` rewrites the configuration at another pace (or with other rules) and reloads both
servers in place. The last applied settings survive a restart of the component.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from drills.errors import ComponentError, InputError, MonitoringError
from drills.monitoring.api import AlertmanagerAPI, PrometheusAPI
from drills.monitoring.capabilities import MonitoringEndpoints
from drills.monitoring.rules import (
    SCRAPE_JOB,
    SHIPPED_RULES,
    RuleSet,
    check_with_promtool,
    format_duration,
    load_rules,
)
from drills.monitoring.timing import REAL, Timing
from drills.targets.sandbox.processes import ProcessRef, Supervisor, tail
from drills.targets.sandbox.state import free_port

__all__ = [
    "JOB",
    "PACKAGES",
    "MonitoringStack",
    "missing_packages",
]

JOB = SCRAPE_JOB
PACKAGES = ("prometheus", "prometheus-alertmanager")
_BINARIES = {
    "prometheus": ("prometheus",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
}
READY_TIMEOUT_SECONDS = 60.0


def _binary(kind: str) -> str | None:
    return next((p for name in _BINARIES[kind] if (p := shutil.which(name))), None)


def missing_packages() -> str | None:
    """Why monitoring cannot run here (naming the packages), or None when it can."""
    if _binary("prometheus") and _binary("alertmanager") and shutil.which("promtool"):
        return None
    return (
        "Prometheus and Alertmanager are not installed (Debian packages: "
        + " ".join(PACKAGES)
        + "; `python3 dev.py` installs them when run as root on Debian)"
    )


class MonitoringStack:
    """The three processes of one sandbox's monitoring, below `<state-dir>/monitoring`."""

    def __init__(self, root: Path, prometheus_port: int, logs: Path) -> None:
        self.root = root
        self.prometheus_port = prometheus_port
        self.logs = logs

    # ------------------------------------------------------------------ files

    @property
    def targets_file(self) -> Path:
        return self.root / "targets.json"

    @property
    def notifications_file(self) -> Path:
        return self.root / "notifications.jsonl"

    @property
    def _settings_file(self) -> Path:
        return self.root / "settings.json"

    def log(self, name: str) -> Path:
        return self.logs / f"monitoring-{name}.log"

    def _ports(self) -> dict[str, int]:
        path = self.root / "ports.json"
        try:
            ports = json.loads(path.read_text())
            return {"alertmanager": int(ports["alertmanager"]), "receiver": int(ports["receiver"])}
        except (OSError, ValueError, KeyError, TypeError):
            pass
        ports = {"alertmanager": free_port(), "receiver": free_port()}
        while len({*ports.values(), self.prometheus_port}) < 3:
            ports["receiver"] = free_port()
        self.root.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ports))
        return ports

    def endpoints(self) -> MonitoringEndpoints:
        return MonitoringEndpoints(
            prometheus_url=f"http://127.0.0.1:{self.prometheus_port}",
            alertmanager_url=f"http://127.0.0.1:{self._ports()['alertmanager']}",
            notifications_path=self.notifications_file,
        )

    def write_targets(self, metrics_ports: dict[int, int]) -> None:
        """The replicas Prometheus scrapes (replica number -> its metrics port), atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        groups = [
            {"targets": [f"127.0.0.1:{port}"], "labels": {"replica": str(replica)}}
            for replica, port in sorted(metrics_ports.items())
        ]
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(groups))
        tmp.replace(self.targets_file)

    def settings(self) -> tuple[Timing, RuleSet]:
        """The pace and rules last applied (the runbook's pace and shipped rules at first)."""
        try:
            saved = json.loads(self._settings_file.read_text())
            rules_path = saved.get("rules")
            return Timing.at_scale(float(saved["time_scale"])), load_rules(
                Path(rules_path) if rules_path else None
            )
        except (OSError, ValueError, KeyError, TypeError, InputError):
            return REAL, load_rules()

    def _write_configs(self, timing: Timing, ruleset: RuleSet) -> None:
        ports = self._ports()
        self.root.mkdir(parents=True, exist_ok=True)
        scrape = format_duration(timing.scrape_interval_seconds)
        prometheus = {
            "global": {
                "scrape_interval": scrape,
                "scrape_timeout": scrape,
                "evaluation_interval": format_duration(timing.evaluation_interval_seconds),
            },
            "rule_files": [str(self.root / "rules.yml")],
            "alerting": {
                "alertmanagers": [
                    {"static_configs": [{"targets": [f"127.0.0.1:{ports['alertmanager']}"]}]}
                ]
            },
            "scrape_configs": [
                {
                    "job_name": JOB,
                    "metrics_path": "/metrics",
                    "file_sd_configs": [
                        {"files": [str(self.targets_file)], "refresh_interval": "5s"}
                    ],
                }
            ],
        }
        alertmanager = {
            "route": {
                "receiver": "drills-harness",
                "group_by": ["..."],  # every alert its own group: one notification each
                "group_wait": format_duration(timing.group_wait_seconds),
                "group_interval": format_duration(timing.group_interval_seconds),
                "repeat_interval": format_duration(timing.repeat_interval_seconds),
            },
            "receivers": [
                {
                    "name": "drills-harness",
                    "webhook_configs": [
                        {
                            "url": f"http://127.0.0.1:{ports['receiver']}/alerts",
                            "send_resolved": True,
                        }
                    ],
                }
            ],
        }
        if not self.targets_file.exists():
            self.write_targets({})
        _write_yaml(self.root / "rules.yml", ruleset.scaled(timing))
        _write_yaml(self.root / "prometheus.yml", prometheus)
        _write_yaml(self.root / "alertmanager.yml", alertmanager)
        rules = None if ruleset.source == SHIPPED_RULES else str(ruleset.source)
        self._settings_file.write_text(
            json.dumps({"time_scale": timing.time_scale, "rules": rules})
        )

    # ------------------------------------------------------------------ processes

    def start(self, supervisor: Supervisor, record: Any) -> list[ProcessRef]:
        """Start receiver, Alertmanager and Prometheus; `record(refs)` saves each as it starts
        (so `down` finds it whatever happens next); returns when all three answer."""
        reason = missing_packages()
        if reason:
            raise ComponentError(f"monitoring: {reason}")
        timing, ruleset = self.settings()
        self._write_configs(timing, ruleset)
        ports = self._ports()
        refs: list[ProcessRef] = []
        commands = {
            "receiver": [
                sys.executable,
                "-m",
                "drills.monitoring.receiver",
                "--port",
                str(ports["receiver"]),
                "--out",
                str(self.notifications_file),
            ],
            "alertmanager": [
                str(_binary("alertmanager")),
                f"--config.file={self.root / 'alertmanager.yml'}",
                f"--storage.path={self.root / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            "prometheus": [
                str(_binary("prometheus")),
                f"--config.file={self.root / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.root / 'prometheus-data'}",
                "--storage.tsdb.retention.time=2d",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
        }
        for name, argv in commands.items():
            refs.append(supervisor.spawn(argv, log_path=self.log(name)))
            record(list(refs))
        self.wait_ready(supervisor, refs)
        return refs

    def wait_ready(self, supervisor: Supervisor, refs: list[ProcessRef]) -> float:
        started = time.monotonic()
        deadline = started + READY_TIMEOUT_SECONDS
        endpoints = self.endpoints()
        receiver_url = f"http://127.0.0.1:{self._ports()['receiver']}"
        apis = [
            PrometheusAPI(endpoints.prometheus_url),
            AlertmanagerAPI(endpoints.alertmanager_url),
        ]
        receiver = AlertmanagerAPI(receiver_url)  # the receiver answers GET /-/ready too
        try:
            while time.monotonic() < deadline:
                for ref, name in zip(refs, ("receiver", "alertmanager", "prometheus"), strict=True):
                    if supervisor.exited(ref) is not None or not ref.alive():
                        raise ComponentError(
                            f"monitoring: {name} exited during start-up:\n{tail(self.log(name), 15)}"
                        )
                if receiver.ready() and all(api.ready() for api in apis):
                    return time.monotonic() - started
                time.sleep(0.1)
        finally:
            for api in (*apis, receiver):
                api.close()
        raise ComponentError(f"monitoring not ready after {READY_TIMEOUT_SECONDS:.0f} s")

    def apply(self, timing: Timing, ruleset: RuleSet) -> None:
        """Run at `timing`'s pace with `ruleset`'s rules: rewrite, reload, confirm it took."""
        scaled = ruleset.scaled(timing)
        check_with_promtool(scaled, f"rules file {ruleset.source}")
        self._write_configs(timing, ruleset)
        endpoints = self.endpoints()
        prometheus = PrometheusAPI(endpoints.prometheus_url)
        alertmanager = AlertmanagerAPI(endpoints.alertmanager_url)
        try:
            alertmanager.reload()
            prometheus.reload()
            wanted = {str(r.get("alert")) for g in scaled["groups"] for r in g["rules"]}
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                groups = prometheus.rule_groups()
                loaded = {str(r.get("name")) for g in groups for r in g.get("rules", [])}
                intervals = {float(g.get("interval", 0)) for g in groups}
                if loaded == wanted and intervals == {timing.evaluation_interval_seconds}:
                    return
                time.sleep(0.1)
        finally:
            prometheus.close()
            alertmanager.close()
        raise MonitoringError("Prometheus did not load the new rules within 10 s")


def _write_yaml(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
