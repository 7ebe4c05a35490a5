"""A tiny HTTPS server on loopback for the client's tests: one JSON route, a throwaway CA.

Real TLS (the standard library's server socket wrapped by `ssl`), real certificates (`trustme`),
so the client's trust decisions are tested against what a server really presents.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.loopback import QuietHandler, serving


@dataclass(frozen=True)
class CaFiles:
    """A CA's certificate (PEM) and a server certificate it issued for 127.0.0.1."""

    ca_bundle: Path
    certfile: Path
    keyfile: Path


def make_ca(folder: Path, name: str = "ca") -> CaFiles:
    """A fresh CA and a server certificate for 127.0.0.1 and localhost, written to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = CaFiles(
        folder / f"{name}.pem", folder / f"{name}-server.pem", folder / f"{name}-key.pem"
    )
    ca.cert_pem.write_to_path(str(files.ca_bundle))
    server.private_key_pem.write_to_path(str(files.keyfile))
    with files.certfile.open("wb") as out:
        for blob in server.cert_chain_pems:
            out.write(blob.bytes())
    return files


class _Handler(QuietHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        sent = self.request_body()
        self.answer(
            200,
            {"status": "healthy", "path": self.path, "method": self.command, "sent": sent.decode()},
        )

    do_GET = _answer
    do_POST = _answer


@contextmanager
def https_server(files: CaFiles) -> Iterator[str]:
    """Serve HTTPS on 127.0.0.1 for the block; yields the base URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.certfile, files.keyfile)
    with serving(_Handler, tls=context) as url:
        yield url
