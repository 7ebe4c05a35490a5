"""Reading a YAML document field by field, with one-line errors that name the file and the key.

Profiles are hand-written: a typo must stop the run with a message that points at the exact
key (`profile.yaml: kubernetes.namespace: expected a non-empty string, got 42`), never fall back
to a default. `FieldReader` holds the file name and the directory relative paths start from.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from drills.errors import ProfileError

__all__ = ["FieldReader", "yaml_problem"]

_DNS_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


class FieldReader:
    """Typed accessors that turn a bad value into a one-line ProfileError naming file and key."""

    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base

    def error(self, where: str, problem: str) -> ProfileError:
        return ProfileError(
            f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}"
        )

    def mapping(
        self, value: object, where: str, *, required: bool = False
    ) -> dict[str, Any] | None:
        if value is None:
            if required:
                raise self.error(where, "missing") if where else self.error("", "empty profile")
            return None
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def only(self, data: Mapping[str, Any], known: set[str] | frozenset[str], where: str) -> None:
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise self.error(
                where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
            )

    def string(
        self, data: Mapping[str, Any], key: str, *, where: str = "", required: bool = False
    ) -> str | None:
        path = f"{where}.{key}" if where else key
        value = data.get(key)
        if value is None:
            if required:
                raise self.error(where, f"missing key {key!r}")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(path, f"expected a non-empty string, got {value!r}")
        return value.strip()

    def dns_name(
        self, data: Mapping[str, Any], key: str, *, where: str = "", required: bool = False
    ) -> str | None:
        value = self.string(data, key, where=where, required=required)
        if value is not None and (len(value) > 253 or not _DNS_NAME.fullmatch(value)):
            raise self.error(f"{where}.{key}", f"{value!r} is not a valid Kubernetes name")
        return value

    def url(
        self,
        data: Mapping[str, Any],
        key: str,
        *,
        where: str,
        schemes: tuple[str, ...],
        required: bool = True,
    ) -> str | None:
        value = self.string(data, key, where=where, required=required)
        if value is not None and value.partition("://")[0] not in schemes:
            raise self.error(f"{where}.{key}", f"{value!r} is not a {' or '.join(schemes)} URL")
        return value

    def labels(self, value: object, where: str) -> Mapping[str, str] | None:
        labels = self.mapping(value, where)
        if labels is None:
            return None
        for key, item in labels.items():
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise self.error(f"{where}.{key}", f"expected a label value, got {item!r}")
        return types.MappingProxyType({str(k): str(v) for k, v in labels.items()})

    def path(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base / path

    def yaml_docs(self, path: Path, where: str) -> list[Any]:
        try:
            return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise self.error(where, f"cannot read {path} ({exc.strerror or exc})") from None
        except UnicodeDecodeError as exc:
            raise self.error(where, f"{path} is not UTF-8 text (at byte {exc.start})") from None
        except yaml.YAMLError as exc:
            raise self.error(where, f"{path} is not valid YAML ({yaml_problem(exc)})") from None


def yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)
