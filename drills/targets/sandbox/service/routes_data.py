"""The business endpoints: the canary's write/read path and the `runs` table.

The canary path is what the harness measures data loss through: a record is answered 201 only
after PostgreSQL committed it and the graph store (the runbook's Neo4j, when the service has one)
holds it as a node, so every acknowledged write is durable in both as far as their servers' own
settings go, and the harness can read it back from each (`GET /api/records?store=neo4j`). The Redis counter update after the commit is best effort: its failure
is counted, never turned into a failed write.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from drills.controlplane import paths
from drills.targets.sandbox.service.guard import DependencyUnavailable
from drills.targets.sandbox.service.postgres_store import CanaryRecord
from drills.targets.sandbox.service.services import services_of

__all__ = ["DATA_ROUTES", "BadRequest"]

MAX_LIST_LIMIT = 5000
DEFAULT_RECORDS_LIMIT = 1000
DEFAULT_RUNS_LIMIT = 100
MAX_TEXT_LENGTH = 1_000_000


class BadRequest(ValueError):
    """A request the service refuses with 400; the message says what is wrong."""


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def _text(data: dict[str, Any], name: str, *, allow_empty: bool = True) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    if not allow_empty and not value:
        raise BadRequest(f"{name} must not be empty")
    if len(value) > MAX_TEXT_LENGTH:
        raise BadRequest(f"{name} is longer than {MAX_TEXT_LENGTH} characters")
    return value


def _int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError as exc:
            raise BadRequest(f"{name} must be an integer") from exc
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise BadRequest(f"{name} must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise BadRequest(f"{name} must be <= {maximum}")
    return value


def _timestamp(data: dict[str, Any], name: str) -> datetime:
    text = _text(data, name, allow_empty=False)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an ISO-8601 timestamp") from exc
    # A timestamp without an offset is taken as UTC, as the harness writes UTC throughout.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def record_from_json(data: dict[str, Any]) -> CanaryRecord:
    return CanaryRecord(
        stream=_text(data, "stream", allow_empty=False),
        seq=_int(data.get("seq"), "seq", minimum=0, maximum=2**63 - 1),
        sent_at=_timestamp(data, "sent_at"),
        payload=_text(data, "payload"),
        checksum=_text(data, "checksum"),
    )


async def post_record(request: Request) -> JSONResponse:
    services = services_of(request)
    record = record_from_json(await _json_object(request))
    inserted = await services.postgres.insert_record(record)
    if services.graph is not None:
        await services.graph.merge_record(record)
    # Committed in every store: from here on nothing may turn this into a failed write.
    try:
        await services.redis.count_record()
    except DependencyUnavailable:
        services.tallies.redis_counter_failures_total += 1
        services.metrics.redis_counter_failures.labels(str(services.replica)).inc()
    return JSONResponse(
        {"stream": record.stream, "seq": record.seq, "duplicate": not inserted}, status_code=201
    )


async def get_records(request: Request) -> JSONResponse:
    services = services_of(request)
    params = request.query_params
    stream = params.get("stream")
    if not stream:
        raise BadRequest("query parameter stream is required")
    after = _int(params.get("after", "-1"), "after", minimum=-1)
    limit = _int(
        params.get("limit", str(DEFAULT_RECORDS_LIMIT)), "limit", minimum=1, maximum=MAX_LIST_LIMIT
    )
    store = params.get("store", "postgres")
    if store == "postgres":
        return JSONResponse(await services.postgres.list_records(stream, after, limit))
    if store == "neo4j" and services.graph is not None:
        return JSONResponse(await services.graph.list_records(stream, after, limit))
    known = "postgres, neo4j" if services.graph is not None else "postgres"
    raise BadRequest(f"store must be one of: {known}")


async def post_run(request: Request) -> JSONResponse:
    services = services_of(request)
    data = await _json_object(request)
    name = _text(data, "name", allow_empty=False)
    status = _text(data, "status", allow_empty=False)
    return JSONResponse(await services.postgres.insert_run(name, status), status_code=201)


async def get_runs(request: Request) -> JSONResponse:
    services = services_of(request)
    params = request.query_params
    after = _int(params.get("after", "0"), "after", minimum=0)
    limit = _int(
        params.get("limit", str(DEFAULT_RUNS_LIMIT)), "limit", minimum=1, maximum=MAX_LIST_LIMIT
    )
    runs = await services.postgres.list_runs(after, limit)
    return JSONResponse({"runs": runs, "next": runs[-1]["id"] if len(runs) == limit else None})


DATA_ROUTES = [
    Route(paths.RECORDS, post_record, methods=["POST"]),
    Route(paths.RECORDS, get_records, methods=["GET"]),
    Route(paths.RUNS, post_run, methods=["POST"]),
    Route(paths.RUNS, get_runs, methods=["GET"]),
]
