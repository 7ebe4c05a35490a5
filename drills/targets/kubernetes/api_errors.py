"""Turning the client's failures into drills errors, and its raw answers into JSON.

The official client raises `ApiException` (with the server's `Status` object as JSON text) and
lets urllib3's transport errors through; drivers and probes must only ever see `TargetError`s
with one readable line, so the mapping lives here, in one place.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client.exceptions import ApiException

from drills.errors import TargetError, TargetUnreachableError

__all__ = ["api_error", "decode", "exit_code", "parse", "unreachable"]

JsonObject = dict[str, Any]


def exit_code(ws: Any) -> int | None:
    try:
        code = ws.returncode
    except (TypeError, KeyError, IndexError, ValueError):  # no or malformed status channel
        return None
    return None if code is None else int(code)


def decode(response: Any) -> JsonObject:
    return parse("response", response.data)


def parse(what: str, raw: bytes) -> JsonObject:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise TargetError(
            f"{what}: the API server answered with something that is not JSON"
        ) from exc
    return data if isinstance(data, dict) else {"items": data}


def api_error(what: str, exc: ApiException) -> TargetError:
    message = exc.reason or ""
    try:
        status = json.loads(exc.body or "{}")
        message = str(status.get("message") or message)
    except (ValueError, AttributeError):
        pass
    message = message.splitlines()[0] if message else "no message"
    if exc.status == 403:
        return TargetError(
            f"{what}: forbidden ({message}); the runner's Role lacks this permission "
            "(compare with `drills schedule --emit kubernetes`)"
        )
    if exc.status in (502, 503, 504):
        return TargetUnreachableError(f"{what}: API server unavailable ({exc.status} {message})")
    return TargetError(f"{what}: {exc.status} {message}")


def unreachable(what: str, exc: Exception) -> TargetUnreachableError:
    return TargetUnreachableError(f"{what}: the API server did not answer ({type(exc).__name__})")
