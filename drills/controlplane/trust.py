"""Which server certificates the harness accepts from an https control plane.

Three choices, as a team's staging setup needs them: the system trust store (the default), a CA
bundle (a private CA, named in the profile), or no verification at all (`insecure`, for a
throwaway certificate; said loudly wherever the trust is described). Building a TLS context loads
certificates (the system store costs tens of milliseconds of CPU), so each trust's context is built
once per process and shared by every connection.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.errors import InputError, ProfileError

__all__ = ["SYSTEM_TRUST", "TlsTrust"]


@dataclass(frozen=True)
class TlsTrust:
    """The certificates an https control plane may present: see the module docstring."""

    ca_bundle: Path | None = None
    insecure: bool = False

    def __post_init__(self) -> None:
        if self.insecure and self.ca_bundle is not None:
            raise InputError("control-plane TLS: a CA bundle and insecure exclude each other")

    def context(self) -> ssl.SSLContext:
        """The client TLS context of this trust (built once per process)."""
        return _context(self.ca_bundle, self.insecure)

    def describe(self) -> str:
        if self.insecure:
            return "no certificate verification (insecure)"
        if self.ca_bundle is not None:
            return f"CA bundle {self.ca_bundle}"
        return "the system trust store"

    def to_json(self) -> dict[str, Any]:
        return {
            "ca_bundle": None if self.ca_bundle is None else str(self.ca_bundle),
            "insecure": self.insecure,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TlsTrust:
        data = data or {}
        bundle = data.get("ca_bundle")
        return cls(None if bundle is None else Path(bundle), bool(data.get("insecure", False)))

    @classmethod
    def from_profile(cls, raw: object, base_dir: Path, where: str) -> TlsTrust:
        """The `services.control_plane_tls` section of a profile: `{ca_bundle: PATH}` (relative
        to the profile's folder) or `{insecure: true}`; absent means the system store. The bundle
        is loaded here, so a missing or broken file is one `ProfileError` line, before any run."""
        if raw is None:
            return SYSTEM_TRUST
        if not isinstance(raw, dict) or not set(raw) <= {"ca_bundle", "insecure"}:
            raise ProfileError(f"{where}: expected {{ca_bundle: PATH}} or {{insecure: true}}")
        bundle, insecure = raw.get("ca_bundle"), raw.get("insecure", False)
        if bundle is not None and (not isinstance(bundle, str) or not bundle.strip()):
            raise ProfileError(f"{where}.ca_bundle: expected a file path, got {bundle!r}")
        if not isinstance(insecure, bool):
            raise ProfileError(f"{where}.insecure: expected true or false, got {insecure!r}")
        path = None if bundle is None else (base_dir / Path(bundle).expanduser()).resolve()
        try:
            trust = cls(path, insecure)
            trust.context()
        except InputError as exc:
            raise ProfileError(f"{where}: {exc}") from None
        return trust


SYSTEM_TRUST = TlsTrust()


@functools.cache
def _context(ca_bundle: Path | None, insecure: bool) -> ssl.SSLContext:
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_bundle is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except FileNotFoundError:
        raise InputError(f"CA bundle {ca_bundle} does not exist") from None
    except ssl.SSLError as exc:  # an OSError too: first
        raise InputError(f"CA bundle {ca_bundle}: not PEM certificates ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"CA bundle {ca_bundle}: cannot read it ({exc.strerror})") from None
