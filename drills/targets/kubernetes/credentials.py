"""Resolving the profile's secret references, late, and keeping the values out of every text.

A reference is `{env: VAR}` (the runner's environment: in a CronJob, filled from a Secret by the
pod spec) or `{secret: NAME, key: KEY}` (read through the API; the runner's Role then needs `get`
on exactly those Secrets). Values exist only in memory and, for the database signal, in a
private libpq passfile (mode 0600, deleted on close), so the conninfo that reaches samplers,
timelines and reports carries `passfile=...`, never a password.

Reading `os.environ` here is deliberate: the variable names come from the profile, so they
cannot be fields of the `DRILLS_`-prefixed settings object.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from drills.errors import ProfileError, TargetError
from drills.targets.kubernetes.gateway import Gateway
from drills.targets.kubernetes.profile import DatabaseSettings, EnvSecret, SecretRef
from drills.targets.kubernetes.resources import SECRETS

__all__ = ["Passfile", "SignalConninfo", "conninfo_text", "resolve_secret"]


def resolve_secret(
    ref: SecretRef, gateway: Gateway, environ: Mapping[str, str] | None = None
) -> str:
    """The value behind a reference; ProfileError/TargetError (without the value) if absent."""
    if isinstance(ref, EnvSecret):
        env = os.environ if environ is None else environ
        value = env.get(ref.variable)
        if value is None:
            raise ProfileError(f"environment variable {ref.variable} (a profile secret) is not set")
        return value
    secret = gateway.get(SECRETS, ref.name)
    if secret is None:
        raise TargetError(f"Secret {gateway.namespace}/{ref.name} does not exist")
    encoded = (secret.get("data") or {}).get(ref.key)
    if encoded is None:
        raise TargetError(f"Secret {gateway.namespace}/{ref.name} has no key {ref.key!r}")
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TargetError(f"Secret {ref.name} key {ref.key!r} is not base64 UTF-8") from None


def conninfo_text(params: Mapping[str, str]) -> str:
    """libpq `key=value` conninfo, values quoted where needed."""
    return " ".join(f"{key}={_quote(value)}" for key, value in params.items())


def _quote(value: str) -> str:
    if value and not any(c in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Passfile:
    """A private pgpass file with one entry; `close()` deletes it."""

    def __init__(self, params: Mapping[str, str], password: str) -> None:
        fields = [
            params.get("host", "*"),
            params.get("port", "*"),
            params.get("dbname", "*"),
            params.get("user", "*"),
            password,
        ]
        line = ":".join(f.replace("\\", "\\\\").replace(":", "\\:") for f in fields)
        fd, name = tempfile.mkstemp(prefix="drills-pgpass-")  # created with mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(line + "\n")
        self.path = Path(name)

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


class SignalConninfo:
    """The database signal's conninfo: the profile's parameters plus a passfile, made once."""

    def __init__(
        self,
        settings: DatabaseSettings | None,
        gateway: Gateway,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.environ = environ
        self._passfile: Passfile | None = None

    def conninfo(self) -> str | None:
        """None when the profile gives no `database.conninfo`."""
        db = self.settings
        if db is None or db.conninfo is None:
            return None
        params = dict(db.conninfo)
        if db.password is not None:
            if self._passfile is None:
                password = resolve_secret(db.password, self.gateway, self.environ)
                self._passfile = Passfile(params, password)
            params["passfile"] = str(self._passfile.path)
        return conninfo_text(params)

    def close(self) -> None:
        if self._passfile is not None:
            self._passfile.close()
            self._passfile = None
