"""Reading the YAML (or JSON) files users hand us (experiments, profiles) with one-line errors.

Whatever the file holds - binary junk, text in another encoding, nesting that would exhaust the
parser's stack, a date that is not one - the caller gets one `InputError` line naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from drills.errors import InputError


def load_mapping(
    path: Path, what: str, *, error: type[InputError] = InputError, expected: str = ""
) -> dict[str, Any]:
    """The YAML mapping in `path`; `error` naming the file (and line) for anything else."""
    data = load_document(path, what, error=error)
    if not isinstance(data, dict):
        raise error(f"{what} {path} must be a mapping{expected}")
    return data


def load_document(path: Path, what: str, *, error: type[InputError] = InputError) -> object:
    """The one YAML (or, for `.json`, JSON) document in `path`, parsed."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (at byte {exc.start})") from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} {path} is not valid JSON at line {exc.lineno}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise error(f"{what} {path} is not valid YAML{where}") from None
    except RecursionError:
        raise error(f"{what} {path} is nested too deeply") from None
    except ValueError as exc:  # a scalar YAML resolves but cannot build, e.g. 2024-13-45
        raise error(f"{what} {path} holds a value that cannot be read: {exc}") from None
