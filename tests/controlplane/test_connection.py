"""The control-plane client over real TLS: trusted, not trusted, insecure, plain-http mismatches.

The defect this guards: the hot paths' client computed `https` and then spoke plaintext to port
443, so every drill against an https URL saw the target down from the first sample.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from drills.clock import RunClock
from drills.controlplane.connection import Connection, Endpoint, Reply, ask_fresh
from drills.controlplane.health import graphql_healthy, healthy, serving
from drills.controlplane.trust import TlsTrust
from drills.errors import (
    ExitCode,
    InputError,
    ProfileError,
    ServiceTlsError,
    ServiceUnreachableError,
)
from drills.sampler import HttpCheck
from drills.targets.base import SignalKind, SignalSpec
from tests.controlplane.tls_server import CaFiles, https_server, make_ca


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> tuple[CaFiles, CaFiles]:
    folder = tmp_path_factory.mktemp("cas")
    return make_ca(folder, "good"), make_ca(folder, "other")


def test_an_https_url_is_spoken_over_tls_on_a_kept_connection(
    cas: tuple[CaFiles, CaFiles],
) -> None:
    good, _ = cas
    with https_server(good) as url:
        conn = Connection(Endpoint(url, TlsTrust(good.ca_bundle)), 2.0)
        try:
            first = conn.request("GET", "/health")
            second = conn.request("POST", "/graphql", {"query": "{ healthCheck }"})
        finally:
            conn.close()
    assert first.status == 200 and first.body["path"] == "/health"
    assert second.body["method"] == "POST" and "healthCheck" in second.body["sent"]


def test_the_sampler_sees_an_https_target_up(cas: tuple[CaFiles, CaFiles]) -> None:
    good, _ = cas
    with https_server(good) as url:
        spec = SignalSpec(
            "health", SignalKind.HTTP, url + "/health", trust=TlsTrust(good.ca_bundle)
        )
        check = HttpCheck(spec, RunClock(), 2.0)
        try:
            ok, latency, detail = check()
        finally:
            check.close()
    assert (ok, detail) == (True, None)
    assert latency is not None and latency > 0


def test_a_certificate_from_another_ca_is_a_tls_error_not_an_outage(
    cas: tuple[CaFiles, CaFiles],
) -> None:
    good, other = cas
    with https_server(good) as url:
        with pytest.raises(ServiceTlsError) as caught:
            ask_fresh(Endpoint(url, TlsTrust(other.ca_bundle)), "GET", "/health")
        # the system store does not know a throwaway CA either
        with pytest.raises(ServiceTlsError):
            ask_fresh(Endpoint(url), "GET", "/health")
        spec = SignalSpec(
            "health", SignalKind.HTTP, url + "/health", trust=TlsTrust(other.ca_bundle)
        )
        check = HttpCheck(spec, RunClock(), 2.0)
        try:
            ok, _, detail = check()
        finally:
            check.close()
    message = str(caught.value)
    assert "\n" not in message and "certificate" in message and str(other.ca_bundle) in message
    assert caught.value.exit_code is ExitCode.USAGE
    assert not ok and detail is not None and "certificate" in detail


def test_insecure_accepts_any_certificate(cas: tuple[CaFiles, CaFiles]) -> None:
    good, _ = cas
    with https_server(good) as url:
        assert ask_fresh(Endpoint(url, TlsTrust(insecure=True)), "GET", "/health").ok


def test_https_to_a_plain_http_server_says_so(cas: tuple[CaFiles, CaFiles]) -> None:
    good, _ = cas
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:

        def answer_plaintext() -> None:
            peer, _ = listener.accept()
            with peer:
                peer.recv(4096)
                peer.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

        threading.Thread(target=answer_plaintext, daemon=True).start()
        with pytest.raises(ServiceTlsError, match="TLS handshake failed"):
            ask_fresh(Endpoint(f"https://127.0.0.1:{port}", TlsTrust(good.ca_bundle)), "GET", "/")
    finally:
        listener.close()


def test_no_answer_is_unreachable_with_a_one_word_reason() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    with pytest.raises(ServiceUnreachableError) as caught:
        ask_fresh(Endpoint(f"http://127.0.0.1:{port}"), "GET", "/health", 1.0)
    assert caught.value.reason == "ConnectionRefusedError"


def test_bad_urls_and_trusts_are_input_errors(tmp_path: Path) -> None:
    for url in ("ftp://127.0.0.1/", "http://", "http://127.0.0.1:99999"):
        with pytest.raises(InputError):
            Endpoint(url)
    with pytest.raises(InputError, match="exclude"):
        TlsTrust(tmp_path / "ca.pem", insecure=True)
    with pytest.raises(InputError, match="does not exist"):
        TlsTrust(tmp_path / "missing.pem").context()
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(InputError, match="not PEM"):
        TlsTrust(junk).context()


def test_profile_trust_sections(tmp_path: Path, cas: tuple[CaFiles, CaFiles]) -> None:
    good, _ = cas
    (tmp_path / "ca.pem").write_bytes(good.ca_bundle.read_bytes())
    assert TlsTrust.from_profile(None, tmp_path, "s").ca_bundle is None
    trust = TlsTrust.from_profile({"ca_bundle": "ca.pem"}, tmp_path, "s")
    assert trust.ca_bundle == (tmp_path / "ca.pem").resolve()
    assert isinstance(trust.context(), ssl.SSLContext)
    assert TlsTrust.from_profile({"insecure": True}, tmp_path, "s").insecure
    for bad in ({"ca_bundle": 3}, {"insecure": "yes"}, {"verify": False}, "ca.pem"):
        with pytest.raises(ProfileError):
            TlsTrust.from_profile(bad, tmp_path, "services.control_plane_tls")
    with pytest.raises(ProfileError, match=r"services.control_plane_tls: .*does not exist"):
        TlsTrust.from_profile({"ca_bundle": "nope.pem"}, tmp_path, "services.control_plane_tls")


def test_one_definition_of_healthy() -> None:
    assert healthy(Reply(204, b"")) and not healthy(Reply(503, b"{}"))
    assert graphql_healthy(Reply(200, b'{"data": {"healthCheck": true}}'))
    for body in (b'{"data": {"healthCheck": "true"}}', b'{"data": null}', b"[]", b"oops"):
        assert not graphql_healthy(Reply(200, body))
    assert not graphql_healthy(Reply(500, b'{"data": {"healthCheck": true}}'))
    assert serving(Reply(503, b'{"status": "maintenance"}'))
    assert not serving(Reply(503, b'{"status": "degraded"}'))
