"""Checking documents users hand us against JSON Schemas of their shape, before any code reads them.

Experiments, profiles and a sandbox's state file are read by code that assumes their shape
(chaoslib's validation iterates `method`, calls `.get` on every activity...). A value of the wrong
type would surface there as a traceback. So each document is first checked to be plain JSON data
(YAML can also produce dates, bytes, non-string keys and self-referencing aliases), then against its
schema in `drills/schemas/`; the first problem becomes one `InputError` line naming the document and
the exact place (`$.method[0].provider`).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from drills.errors import InputError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = ["MAX_DEPTH", "MAX_NODES", "check_document"]

MAX_DEPTH = 64  # nesting deeper than any real experiment; deeper ones would exhaust the stack
MAX_NODES = 200_000  # bounds the walk of YAML aliases that fan out (a "billion laughs" file)
_MESSAGE_LIMIT = 200


@functools.cache
def _validator(name: str) -> Validator:
    from jsonschema import Draft202012Validator

    text = resources.files("drills").joinpath("schemas", f"{name}.json").read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


def check_document(
    document: object,
    schema: str | Mapping[str, Any],
    subject: str,
    *,
    error: type[InputError] = InputError,
) -> None:
    """Raise `error` ("<subject>: <where>: <problem>") unless `document` is plain JSON data valid
    against `schema`: a schema, or the name of one in `drills/schemas/` (`experiment`)."""
    problem = _json_problem(document)
    if problem is not None:
        raise error(f"{subject}: {problem}")
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = _validator(schema) if isinstance(schema, str) else Draft202012Validator(schema)
    found = best_match(validator.iter_errors(document))  # type: ignore[arg-type]  # checked to be JSON data above
    if found is not None:
        where = found.json_path
        raise error(f"{subject}: {_one_line(where)}: {_one_line(found.message)}")


def _json_problem(document: object) -> str | None:
    """What makes `document` not plain JSON data (None when it is): the first such place."""
    seen = 0
    stack: list[tuple[object, str, int]] = [(document, "$", 0)]
    while stack:
        value, where, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return f"more than {MAX_NODES} values (aliases that fan out?)"
        if depth > MAX_DEPTH:
            return f"{_one_line(where)}: nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return (
                        f"{_one_line(where)}: key {_one_line(repr(key))} is not a string (quote it)"
                    )
                stack.append((item, f"{where}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{_one_line(where)}: {value} is not a finite number"
        elif value is not None and not isinstance(value, str | int | float | bool):
            kind = type(value).__name__
            return f"{_one_line(where)}: a {kind} is not plain data (quote it to make it text)"
    return None


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"
