"""`POST /graphql`: the runbook's functional check, `{ healthCheck }`, executed by graphql-core.

`healthCheck` is true only when a real PostgreSQL query and a Redis PING both succeed right now
(through their breakers); `runs` counts the business table; `replica` says who answered.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from graphql import GraphQLSchema, build_schema, graphql
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from drills.controlplane import paths
from drills.targets.sandbox.service.services import Services, services_of

__all__ = ["GRAPHQL_ROUTES", "SDL"]

SDL = """
type Query {
  "True when PostgreSQL answers a query and Redis answers PING, right now."
  healthCheck: Boolean!
  "Number of rows in the runs table (null, with an error, when PostgreSQL fails)."
  runs: Int
  "The replica that answered."
  replica: Int!
}
"""


@functools.cache
def _get_schema() -> GraphQLSchema:
    # Built on first use, not at import, to keep a replica's start-up fast.
    return build_schema(SDL)


class _Root:
    """Resolvers: graphql-core's default resolver calls these attributes of the root value."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def healthCheck(self, _info: Any) -> bool:  # the GraphQL field's name
        checks = await self._services.check_all()
        return all(status.up for status in checks.values())

    async def runs(self, _info: Any) -> int:
        return await self._services.postgres.count_runs()

    def replica(self, _info: Any) -> int:
        return self._services.replica


async def graphql_endpoint(request: Request) -> JSONResponse:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JSONResponse({"errors": [{"message": "body is not valid JSON"}]}, status_code=400)
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, str):
        return JSONResponse({"errors": [{"message": "query must be a string"}]}, status_code=400)
    variables = body.get("variables")
    result = await graphql(
        _get_schema(),
        query,
        root_value=_Root(services_of(request)),
        variable_values=variables if isinstance(variables, dict) else None,
        operation_name=body.get("operationName"),
    )
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [error.formatted for error in result.errors]
    # Like most GraphQL servers: a query that could not even start is a 400.
    return JSONResponse(out, status_code=400 if result.data is None and result.errors else 200)


GRAPHQL_ROUTES = [Route(paths.GRAPHQL, graphql_endpoint, methods=["POST"])]
