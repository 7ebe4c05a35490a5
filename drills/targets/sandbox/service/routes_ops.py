"""Operator endpoints of the runbook: health, resilience, database monitoring, Prometheus.

Status codes follow `curl -f` as the runbook uses it: 200 only when the thing asked about is
healthy, 503 (with the same detailed JSON body) otherwise.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from drills.controlplane import paths
from drills.targets.sandbox.service.guard import BreakerState, Dependency
from drills.targets.sandbox.service.metrics import CONTENT_TYPE
from drills.targets.sandbox.service.services import services_of

__all__ = ["OPS_ROUTES"]


async def health(request: Request) -> JSONResponse:
    """200 `{"status":"ok"}` when PostgreSQL and Redis both answer and maintenance is off."""
    services = services_of(request)
    checks = await services.check_all()
    failed = [str(dep) for dep, status in checks.items() if not status.up]
    maintenance = services.runtime.current.maintenance
    if failed:
        status = "unhealthy"
    elif maintenance:
        status = "maintenance"
    else:
        status = "ok"
    body = {
        "status": status,
        "replica": services.replica,
        "maintenance": maintenance,
        "failed": failed,
        "checks": {str(dep): result.to_json() for dep, result in checks.items()},
    }
    return JSONResponse(body, status_code=200 if status == "ok" else 503)


def _breakers(request: Request) -> dict[str, dict[str, Any]]:
    return {str(dep): guard.snapshot() for dep, guard in services_of(request).guards.items()}


async def resilience_health(request: Request) -> JSONResponse:
    """Overall state from the breakers: healthy when every breaker is closed."""
    services = services_of(request)
    breakers = _breakers(request)
    not_closed = sorted(n for n, b in breakers.items() if b["state"] != BreakerState.CLOSED)
    body = {
        "status": "healthy" if not not_closed else "degraded",
        "replica": services.replica,
        "maintenance": services.runtime.current.maintenance,
        "open_breakers": not_closed,
        "breakers": {name: b["state"] for name, b in breakers.items()},
    }
    return JSONResponse(body, status_code=200 if not not_closed else 503)


async def circuit_breakers(request: Request) -> JSONResponse:
    return JSONResponse(_breakers(request))


async def reset_breaker(request: Request) -> JSONResponse:
    """Close one breaker of the replica that answers (breakers are per replica, like per pod)."""
    services = services_of(request)
    name = request.path_params["name"]
    guard = next((g for dep, g in services.guards.items() if str(dep) == name), None)
    if guard is None:  # not a dependency, or one this service does not use (no graph store)
        known = sorted(str(d) for d in services.guards)
        return JSONResponse(
            {"error": "unknown circuit breaker", "name": name, "known": known}, status_code=404
        )
    guard.reset()
    return JSONResponse(
        {"name": name, "reset": True, "replica": services.replica, **guard.snapshot()}
    )


async def resilience_metrics(request: Request) -> JSONResponse:
    services = services_of(request)
    tallies = services.tallies
    runtime = services.runtime.current
    body = {
        "replica": services.replica,
        "resilience": {
            "breakers": _breakers(request),
            "pool": services.postgres.pool_stats(),
            "rate_limit": {
                "limit": services.limiter.effective(runtime.rate_limit),
                "rejected_total": tallies.rate_limited_total,
                "denied_total": tallies.denied_total,
                "deny": sorted(runtime.deny),
            },
            "maintenance": runtime.maintenance,
            "maintenance_rejected_total": tallies.maintenance_rejected_total,
            "redis_counter_failures_total": tallies.redis_counter_failures_total,
            "requests_total": tallies.requests_total,
            "errors_total": tallies.errors_total,
        },
    }
    return JSONResponse(body)


async def monitoring_databases(request: Request) -> JSONResponse:
    """Per database: up/down, latency, error; PostgreSQL adds pool stats and `in_recovery`."""
    services = services_of(request)
    checks = await services.check_all()
    body: dict[str, Any] = {str(dep): status.to_json() for dep, status in checks.items()}
    body[Dependency.POSTGRES].setdefault("in_recovery", None)
    body[Dependency.POSTGRES]["pool"] = services.postgres.pool_stats()
    all_up = all(status.up for status in checks.values())
    return JSONResponse(
        {"replica": services.replica, **body},
        status_code=200 if all_up else 503,
    )


async def prometheus(request: Request) -> Response:
    return Response(services_of(request).metrics.render(), media_type=CONTENT_TYPE)


OPS_ROUTES = [
    Route(paths.HEALTH, health, methods=["GET"]),
    Route(paths.RESILIENCE_HEALTH, resilience_health, methods=["GET"]),
    Route(paths.CIRCUIT_BREAKERS, circuit_breakers, methods=["GET"]),
    Route(paths.BREAKER_RESET_ROUTE, reset_breaker, methods=["POST"]),
    Route(paths.RESILIENCE_METRICS, resilience_metrics, methods=["GET"]),
    Route(paths.MONITORING_DATABASES, monitoring_databases, methods=["GET"]),
    Route(paths.PROMETHEUS_METRICS, prometheus, methods=["GET"]),
]
