"""Reading (and reloading) a Prometheus and an Alertmanager over their HTTP APIs.

Prometheus's `/api/v1/alerts` says which rules are pending or firing and since when; Alertmanager's
`/api/v2/alerts` says what it holds to notify about. Transport errors become `MonitoringError` here
and nowhere else, naming the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from drills.errors import MonitoringError

__all__ = ["ActiveAlert", "AlertmanagerAPI", "PrometheusAPI"]

TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class ActiveAlert:
    """One pending or firing alert as Prometheus reports it."""

    name: str
    state: str  # "pending" | "firing"
    labels: dict[str, str]
    active_at: str | None


class _API:
    what = "server"

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=TIMEOUT_SECONDS, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str) -> httpx.Response:
        try:
            response = self._client.request(method, self.url + path)
        except httpx.HTTPError as exc:
            raise MonitoringError(
                f"{self.what} at {self.url} does not answer ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            detail = response.text.strip().splitlines()[:1]
            raise MonitoringError(
                f"{self.what} at {self.url}{path} answered {response.status_code}"
                + (f": {detail[0][:200]}" if detail else "")
            )
        return response

    def _json(self, path: str) -> Any:
        try:
            return self._call("GET", path).json()
        except ValueError:
            raise MonitoringError(f"{self.what} at {self.url}{path} answered non-JSON") from None

    def ready(self) -> bool:
        try:
            self._call("GET", "/-/ready")
        except MonitoringError:
            return False
        return True

    def reload(self) -> None:
        """Re-read the configuration files (Prometheus needs --web.enable-lifecycle)."""
        self._call("POST", "/-/reload")


class PrometheusAPI(_API):
    what = "Prometheus"

    def alerts(self) -> list[ActiveAlert]:
        data = self._json("/api/v1/alerts")
        alerts = (data.get("data") or {}).get("alerts") or [] if isinstance(data, dict) else []
        return [
            ActiveAlert(
                name=str(a.get("labels", {}).get("alertname", "")),
                state=str(a.get("state", "")),
                labels={str(k): str(v) for k, v in (a.get("labels") or {}).items()},
                active_at=a.get("activeAt"),
            )
            for a in alerts
        ]

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[dict[str, Any]]:
        """A range query's series (`metric` labels and `values` [[unix time, value], ...])."""
        params = urlencode(
            {
                "query": query,
                "start": start.timestamp(),
                "end": end.timestamp(),
                "step": step_seconds,
            }
        )
        data = self._json(f"/api/v1/query_range?{params}")
        result = (data.get("data") or {}).get("result") if isinstance(data, dict) else None
        return [one for one in result or [] if isinstance(one, dict)]

    def rule_groups(self) -> list[dict[str, Any]]:
        data = self._json("/api/v1/rules")
        groups = (data.get("data") or {}).get("groups") if isinstance(data, dict) else None
        return list(groups or [])

    def healthy_targets(self, job: str) -> int:
        data = self._json("/api/v1/targets?state=active")
        targets = (data.get("data") or {}).get("activeTargets") or []
        return sum(
            1 for t in targets if t.get("labels", {}).get("job") == job and t.get("health") == "up"
        )


class AlertmanagerAPI(_API):
    what = "Alertmanager"

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds (v2), active ones only."""
        data = self._json("/api/v2/alerts?active=true&silenced=false&inhibited=false")
        return list(data) if isinstance(data, list) else []
