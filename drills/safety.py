"""Safety rails shared by every target: the production guard and the dry-run plan.

A drill kills pods, scales deployments to zero and restores databases. Two rails stand between
that and an accident:

- `ProductionGuard` refuses any namespace, context or cluster whose name *looks like* production
  (a `prod` or `production` token), unless the operator overrides it explicitly. Drivers call it
  before they build anything that can send a request, so a refused target never sees one.
- `Plan` records what a drill *would* change (method, path, body summary) when it runs in
  `RunMode.DRY_RUN`; drivers route every mutating call through it instead of the wire.

Matching is on name tokens, not substrings: `intelgraph-prod`, `prod-eu`, `Production` and
`gke_acme_prod01` match; `product-x`, `reproduce` and `preprod` do not.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from drills.errors import UnsafeTargetError

__all__ = [
    "PRODUCTION_TOKENS",
    "GuardMatch",
    "Plan",
    "PlannedCall",
    "ProductionGuard",
    "RunMode",
    "check_not_production",
    "name_tokens",
    "summarize_body",
]

PRODUCTION_TOKENS = frozenset({"prod", "production"})

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_TRAILING_DIGITS = re.compile(r"\d+$")
_SECRET_KEY = re.compile(r"pass|secret|token|credential|private", re.IGNORECASE)
_SUMMARY_LIMIT = 240


class RunMode(StrEnum):
    """Whether mutating calls reach the target (`live`) or only the plan (`dry-run`)."""

    LIVE = "live"
    DRY_RUN = "dry-run"


def name_tokens(name: str) -> tuple[str, ...]:
    """Lower-case tokens of a name: split on non-alphanumerics and camelCase, digits trimmed.

    `gke_acme_prod01` -> ("gke", "acme", "prod"); `IntelgraphProd` -> ("intelgraph", "prod").
    """
    spaced = _CAMEL.sub(r"\1-\2", name).lower()
    tokens = (_TRAILING_DIGITS.sub("", part) for part in _NON_ALNUM.split(spaced))
    return tuple(token for token in tokens if token)


@dataclass(frozen=True)
class GuardMatch:
    """One name that looks like production: which name (`label`), its value, the token."""

    label: str
    value: str
    token: str

    def describe(self) -> str:
        return f"{self.label} {self.value!r} contains {self.token!r}"


class ProductionGuard:
    """Refuses production-looking names unless `allow_production` is set.

    `check(namespace=..., context=...)` raises `UnsafeTargetError` (exit 3) naming every match
    and the override; with the override it returns the matches so callers can record that the
    drill ran under it.
    """

    def __init__(
        self, *, allow_production: bool = False, tokens: frozenset[str] = PRODUCTION_TOKENS
    ) -> None:
        self.allow_production = allow_production
        self.tokens = tokens

    def matches(self, **names: str | None) -> tuple[GuardMatch, ...]:
        found: list[GuardMatch] = []
        for label, value in names.items():
            if not value:
                continue
            for token in name_tokens(value):
                if token in self.tokens:
                    found.append(GuardMatch(label, value, token))
                    break
        return tuple(found)

    def check(self, **names: str | None) -> tuple[GuardMatch, ...]:
        found = self.matches(**names)
        if found and not self.allow_production:
            reasons = "; ".join(match.describe() for match in found)
            raise UnsafeTargetError(
                f"refusing a target that looks like production: {reasons}. "
                "Drills inject real faults; point the profile at a staging namespace, or, if "
                "this really is not production, rerun with --allow-production."
            )
        return found


def check_not_production(
    namespace: str | None,
    context: str | None,
    *,
    allow_production: bool,
    cluster: str | None = None,
) -> tuple[GuardMatch, ...]:
    """The guard as one call; returns the overridden matches (empty when nothing matched)."""
    guard = ProductionGuard(allow_production=allow_production)
    return guard.check(namespace=namespace, context=context, cluster=cluster)


@dataclass(frozen=True)
class PlannedCall:
    """A call a dry run did not send: HTTP method (or WATCH for a wait), path, body summary."""

    method: str
    path: str
    summary: str | None = None

    def render(self) -> str:
        text = f"{self.method} {self.path}"
        return f"{text}  {self.summary}" if self.summary else text

    def to_json(self) -> dict[str, str | None]:
        return {"method": self.method, "path": self.path, "summary": self.summary}


class Plan:
    """The calls a dry run would have made, in order; safe to append from several threads."""

    def __init__(self) -> None:
        self._calls: list[PlannedCall] = []
        self._lock = threading.Lock()

    def record(
        self, method: str, path: str, body: object = None, *, note: str | None = None
    ) -> None:
        summary = note if body is None else summarize_body(body)
        with self._lock:
            self._calls.append(PlannedCall(method, path, summary))

    def calls(self) -> tuple[PlannedCall, ...]:
        with self._lock:
            return tuple(self._calls)

    def render(self) -> str:
        return "\n".join(call.render() for call in self.calls())


def summarize_body(body: object, limit: int = _SUMMARY_LIMIT) -> str:
    """Compact JSON of a request body, secret-looking values masked, cut to `limit` characters."""
    text = json.dumps(_redact(body), sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        env_name = value.get("name") if "value" in value else None
        out: dict[str, Any] = {}
        for key, item in value.items():
            secret_key = _SECRET_KEY.search(str(key)) and not isinstance(item, Mapping | list)
            secret_env = (
                key == "value" and isinstance(env_name, str) and _SECRET_KEY.search(env_name)
            )
            out[str(key)] = "***" if secret_key or secret_env else _redact(item)
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_redact(item) for item in value]
    return value
