"""Safety rails shared by every target: the production guard and the dry-run plan.

A drill kills pods, scales deployments to zero and restores databases. Two rails stand between
that and an accident:

- `ProductionGuard` refuses any namespace, context or cluster whose name *looks like* production,
  and any target whose profile does not declare a non-production `environment:`, unless the
  operator overrides it explicitly (`--allow-production`). Drivers call it before they build
  anything that can send a request, so a refused target never sees one.
- `Plan` records what a drill *would* change (method, path, body summary) when it runs in
  `RunMode.DRY_RUN`; drivers route every mutating call through it instead of the wire.

Names are matched on tokens (split on separators and camelCase, trailing digits trimmed): a token
that is, or ends in, `prod`, `prd` or `production` matches - `intelgraph-prod`, `prod-eu`,
`Production`, `gke_acme_prod01`, `prd`, `myprod`, `intelgraphprod` - unless it starts with `pre` or
`non` (`preprod`, `nonprod` say they are not production). `product-x` and `reproduce` do not match.
A name that hides the word inside a longer token (`prodeu`) is not caught: that is what the
profile's `environment:` is for.
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
    "NON_PRODUCTION_ENVIRONMENTS",
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

PRODUCTION_TOKENS = frozenset({"prod", "prd", "production"})
_NOT_PRODUCTION_PREFIXES = ("pre", "non")  # preprod, nonprod, preproduction: not production
NON_PRODUCTION_ENVIRONMENTS = frozenset(
    {"staging", "stage", "test", "testing", "qa", "dev", "development", "sandbox", "training",
     "lab", "demo", "ci", "preprod", "pre-production", "nonprod", "non-production"}
)  # fmt: skip
"""The values of a profile's `environment:` that let a drill run without the override."""

_UNDECLARED = "(not declared)"
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
        if self.label == "environment":
            known = ", ".join(sorted(NON_PRODUCTION_ENVIRONMENTS))
            if self.value == _UNDECLARED:
                return f"the profile declares no environment (a non-production one is: {known})"
            return f"the profile's environment {self.value!r} is not one of: {known}"
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
                word = self._production_word(token)
                if word is not None:
                    found.append(GuardMatch(label, value, word))
                    break
        return tuple(found)

    def _production_word(self, token: str) -> str | None:
        """The production word `token` is or ends in (None when it is neither)."""
        if token.startswith(_NOT_PRODUCTION_PREFIXES):
            return None
        ending = [word for word in self.tokens if token.endswith(word)]
        return max(ending, key=len) if ending else None

    def environment_match(self, environment: str | None) -> GuardMatch | None:
        """A declared environment that is not a known non-production one (or none declared)."""
        text = (environment or "").strip()
        if text.lower() in NON_PRODUCTION_ENVIRONMENTS:
            return None
        return GuardMatch("environment", text or _UNDECLARED, "not a non-production value")

    def check(
        self,
        *,
        profile_environment: bool = False,
        environment: str | None = None,
        **names: str | None,
    ) -> tuple[GuardMatch, ...]:
        """Refuse (or, overridden, return) every match; with `profile_environment`, also a
        declared `environment` that is not a non-production value."""
        found = self.matches(**names)
        if profile_environment and (declared := self.environment_match(environment)):
            found = (*found, declared)
        if found and not self.allow_production:
            reasons = "; ".join(match.describe() for match in found)
            raise UnsafeTargetError(
                f"refusing a target that looks like production: {reasons}. "
                "Drills inject real faults; point the profile at a staging namespace and declare "
                "its environment (environment: staging), or, if this really is not production, "
                "rerun with --allow-production."
            )
        return found


def check_not_production(
    namespace: str | None,
    context: str | None,
    *,
    allow_production: bool,
    cluster: str | None = None,
    profile_environment: bool = False,
    environment: str | None = None,
) -> tuple[GuardMatch, ...]:
    """The guard as one call; returns the overridden matches (empty when nothing matched).

    `profile_environment=True` (a target opened from a profile) also requires the profile's
    `environment` to be a non-production value."""
    guard = ProductionGuard(allow_production=allow_production)
    return guard.check(
        namespace=namespace,
        context=context,
        cluster=cluster,
        profile_environment=profile_environment,
        environment=environment,
    )


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
