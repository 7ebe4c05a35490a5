"""`curl` in the training shell: the runbook's URLs, answered by the sandbox's control plane.

The runbook names the service by its public address (`https://maestro.intelgraph.ai/...`); here
that address is rewritten to the sandbox's control plane and the request is really sent (method,
headers and body as the runbook wrote them) through the control-plane client, with the sandbox's
TLS trust, so the trainee reads the service's real answer.
Exit statuses are curl's own: 22 for an HTTP error with `-f`, 7 when nothing answers, 6 for a host
the training shell does not reach.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from drills.controlplane.connection import Connection, Endpoint
from drills.errors import ServiceError, ServiceTlsError
from drills.runbook.steps import HttpStep
from drills.training.output import Out

__all__ = [
    "CURL_CONNECT_FAILED",
    "CURL_HTTP_ERROR",
    "CURL_NO_HOST",
    "CURL_TLS",
    "run_curl",
    "sandbox_url",
]

CURL_NO_HOST = 6
CURL_CONNECT_FAILED = 7
CURL_HTTP_ERROR = 22
CURL_TLS = 60
TIMEOUT_SECONDS = 10.0


def sandbox_url(url: str, service_url: str, control_plane_url: str) -> str | None:
    """`url` on the sandbox when it is the runbook's service (any path), else None."""
    given, service = urlsplit(url), urlsplit(service_url)
    if (given.hostname or "").lower() != (service.hostname or "").lower():
        return None
    base = urlsplit(control_plane_url)
    return urlunsplit((base.scheme, base.netloc, given.path or "/", given.query, ""))


def run_curl(step: HttpStep, service_url: str, control_plane: Endpoint, out: Out) -> int:
    """Send the runbook's request to the sandbox; curl's exit status."""
    host = urlsplit(step.url).hostname or step.url
    url = sandbox_url(step.url, service_url, control_plane.url)
    if url is None:
        out.note(
            f"curl: (6) Could not resolve host: {host} "
            f"(the training shell reaches only the service at {service_url})"
        )
        return CURL_NO_HOST
    given = urlsplit(url)
    path = given.path + (f"?{given.query}" if given.query else "")
    conn = Connection(control_plane, TIMEOUT_SECONDS, user_agent="curl (drills training shell)")
    try:
        reply = conn.request(
            step.method,
            path.removeprefix(control_plane.prefix),
            content=None if step.body is None else step.body.encode(),
            headers=dict(step.headers),
        )
    except ServiceTlsError as exc:
        out.note(f"curl: (60) {exc}")
        return CURL_TLS
    except ServiceError as exc:
        out.note(f"curl: (7) Failed to connect to {host}: {exc}")
        return CURL_CONNECT_FAILED
    finally:
        conn.close()
    if step.fail_on_error and reply.status >= 400:
        out.note(f"curl: (22) The requested URL returned error: {reply.status}")
        return CURL_HTTP_ERROR
    if step.method != "HEAD":
        out.say(reply.content.decode(errors="replace").rstrip("\n"))
    return 0
