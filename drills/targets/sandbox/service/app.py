"""Assembles one replica's ASGI application: routes, edge middleware, error mapping, lifespan.

Errors become JSON everywhere: a failed or breaker-blocked dependency is 503 with the dependency
named, bad input 400, unknown routes 404; start-up never waits for the databases (the lifespan only
opens the pool lazily and starts the background loops).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from drills.targets.sandbox.service.config import ServiceConfig
from drills.targets.sandbox.service.graphql_api import GRAPHQL_ROUTES
from drills.targets.sandbox.service.guard import DependencyUnavailable
from drills.targets.sandbox.service.middleware import EdgeMiddleware
from drills.targets.sandbox.service.routes_data import DATA_ROUTES, BadRequest
from drills.targets.sandbox.service.routes_ops import OPS_ROUTES
from drills.targets.sandbox.service.services import Services, services_of

__all__ = ["build_app"]

log = logging.getLogger(__name__)


async def _dependency_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DependencyUnavailable)
    body = {**exc.to_json(), "replica": services_of(request).replica}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


async def _bad_request(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "bad request", "detail": str(exc)}, status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        {"error": exc.detail, "path": request.url.path},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal error", "detail": type(exc).__name__}, status_code=500)


def build_app(config: ServiceConfig, replica: int) -> Starlette:
    """The replica's app; `app.state.services` holds its `Services` once built."""
    services = Services(config, replica)
    routes = [*OPS_ROUTES, *DATA_ROUTES, *GRAPHQL_ROUTES]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.start()
        log.info("replica %d ready on %s:%d", replica, config.host, config.port)
        try:
            yield
        finally:
            await services.stop()
            log.info("replica %d stopped", replica)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(EdgeMiddleware, services=services, routes=routes)],
        exception_handlers={
            DependencyUnavailable: _dependency_failed,
            BadRequest: _bad_request,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.services = services
    return app
