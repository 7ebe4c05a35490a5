"""Reading the YAML files users hand us (experiments, profiles) with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from drills.errors import InputError


def load_mapping(
    path: Path, what: str, *, error: type[InputError] = InputError, expected: str = ""
) -> dict[str, Any]:
    """The YAML mapping in `path`; `error` naming the file (and line) for anything else."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise error(f"{what} {path} is not valid YAML{where}") from exc
    if not isinstance(data, dict):
        raise error(f"{what} {path} must be a mapping{expected}")
    return data
