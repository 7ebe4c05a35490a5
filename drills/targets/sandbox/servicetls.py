"""HTTPS for the sandbox's control plane: the certificate it serves and the CA that signed it.

A staging control plane is served over https, so the sandbox can be too, to drill the harness's TLS
path for real: `Sandbox.serve_tls(cert, key, ca)` copies a server certificate (for 127.0.0.1), its
key (0600) and the signing CA into the state directory, and from the next start of the control
plane every replica serves TLS with them (uvicorn's ssl options) and the sandbox's URL is https.
The CA is what the sandbox's own checks, and by default the harness, trust there.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from drills.controlplane.trust import TlsTrust
from drills.errors import InputError
from drills.targets.sandbox.credentials import write_private

__all__ = ["ServedTls", "install", "installed"]

FOLDER = "tls"


@dataclass(frozen=True)
class ServedTls:
    """The files of a sandbox control plane served over TLS."""

    certfile: Path  # the server certificate chain, PEM
    keyfile: Path  # its private key, PEM, 0600
    ca_bundle: Path  # the CA that signed it, PEM

    @property
    def trust(self) -> TlsTrust:
        return TlsTrust(ca_bundle=self.ca_bundle)


def _files(root: Path) -> ServedTls:
    folder = root / FOLDER
    return ServedTls(folder / "server.pem", folder / "server-key.pem", folder / "ca.pem")


def installed(root: Path) -> ServedTls | None:
    """The TLS files of the sandbox in `root`, or None when it serves plain http."""
    files = _files(root)
    present = [p.is_file() for p in (files.certfile, files.keyfile, files.ca_bundle)]
    return files if all(present) else None


def install(root: Path, certfile: Path, keyfile: Path, ca_bundle: Path) -> ServedTls:
    """Copy the certificate, key and CA into the sandbox in `root`; refuses unreadable files."""
    files = _files(root)
    try:
        key = keyfile.read_text(encoding="ascii")
        files.certfile.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(certfile, files.certfile)
        shutil.copyfile(ca_bundle, files.ca_bundle)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"sandbox TLS files: {exc}") from None
    write_private(files.keyfile, key)
    TlsTrust(ca_bundle=files.ca_bundle).context()  # a CA that is not PEM: refused now
    return files
