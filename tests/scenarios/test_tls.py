"""A whole drill against a control plane served over TLS, and a wrong CA said clearly.

The sandbox's control plane serves https (uvicorn's ssl options) with a certificate from a CA made
here (`trustme`). With that CA in the profile, the complete-outage drill is measured as on plain
http: the sampler, the canary, the pool watch and the preflight all speak TLS. With another CA, the
run stops before anything is injected with one line and exit 2: not "missed", not an outage.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.controlplane.connection import Endpoint, ask_fresh
from drills.errors import ExitCode, ServiceTlsError, ServiceUnreachableError
from drills.history import History
from drills.runner import Runner, RunRequest
from drills.settings import Settings
from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.processes import Supervisor
from tests.cli.invoke import invoke
from tests.conftest import private_dir
from tests.controlplane.tls_server import CaFiles, make_ca

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def tls_sandbox(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxTarget, CaFiles, CaFiles]]:
    """A sandbox whose control plane serves https with the `good` CA's certificate."""
    certs = tmp_path_factory.mktemp("certs")
    good, other = make_ca(certs, "good"), make_ca(certs, "other")
    state_dir = private_dir("drills-tls-sandbox-")
    target = SandboxTarget(state_dir, supervisor=Supervisor())
    try:
        target.sandbox.up()
        target.sandbox.serve_tls(good.certfile, good.keyfile, good.ca_bundle)
        target.sandbox.restart(Component.CONTROL_PLANE)
        yield target, good, other
    finally:
        target.sandbox.down(purge=True)
        shutil.rmtree(state_dir, ignore_errors=True)


def profile(folder: Path, target: SandboxTarget, ca_bundle: Path) -> Path:
    path = folder / "tls-sandbox.yaml"
    path.write_text(
        "kind: sandbox\n"
        f"state_dir: {target.sandbox.layout.root}\n"
        f"services: {{control_plane_tls: {{ca_bundle: {ca_bundle}}}}}\n"
    )
    return path


def test_the_sandbox_serves_https_only(tls_sandbox: tuple[SandboxTarget, CaFiles, CaFiles]) -> None:
    target, _, _ = tls_sandbox
    url = target.control_plane_url
    assert url.startswith("https://127.0.0.1:")
    assert target.control_plane_tls.ca_bundle == target.sandbox.served_tls().ca_bundle  # type: ignore[union-attr]
    assert ask_fresh(Endpoint.of(target), "GET", "/health").ok
    with pytest.raises(ServiceUnreachableError):  # plaintext to the TLS port gets no answer
        ask_fresh(Endpoint(url.replace("https:", "http:")), "GET", "/health", 2.0)


def test_a_whole_drill_over_tls_is_measured(
    tls_sandbox: tuple[SandboxTarget, CaFiles, CaFiles],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target, good, _ = tls_sandbox
    monkeypatch.setenv("DRILLS_HOME", str(tmp_path / "home"))
    out = tmp_path / "run"
    request = RunRequest(
        "complete-outage", target=str(profile(tmp_path, target, good.ca_bundle)), out=out
    )
    outcome = Runner(Settings.from_environ()).run(request)
    report = json.loads((out / "report.json").read_text())
    assert outcome.exit_code == ExitCode.MET, report["verdict_reason"]
    assert report["target"]["address"].startswith("https://")
    m = report["measurements"]
    assert m["fault_at"] < m["detected_at"] < m["recovered_at"]
    assert 0 < m["time_to_detect_seconds"] < 1.0
    assert m["writes_acknowledged"] > 100 and m["writes_lost"] == 0  # the canary wrote over TLS
    lines = [json.loads(line) for line in (out / "timeline.jsonl").read_text().splitlines()]
    fault = next(
        r["start"] for r in lines if r["type"] == "activity-start" and "fault" in r["tags"]
    )
    before = [
        r
        for r in lines
        if r["type"] == "sample" and r["signal"] in ("health", "graphql") and r["t"] < fault
    ]
    assert before and all(r["ok"] for r in before)  # up over https before the fault


def test_a_wrong_ca_fails_clearly_before_any_fault(
    tls_sandbox: tuple[SandboxTarget, CaFiles, CaFiles],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target, _, other = tls_sandbox
    home = tmp_path / "home"
    wrong = profile(tmp_path, target, other.ca_bundle)
    done = invoke(
        capsys, monkeypatch, home, "run", "complete-outage", "--target", str(wrong),
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert done.code == ExitCode.USAGE, done.stderr
    line = done.line()
    assert "certificate" in line and str(other.ca_bundle) in line, line
    assert "missed" not in done.stderr.lower() and "not healthy" not in line
    assert not (tmp_path / "run" / "report.json").exists()
    with History(Settings.from_environ().history_location) as history:
        assert history.all_runs() == []
    # nothing was injected: the control plane was never killed
    assert target.sandbox.status()["components"]["control-plane"]["state"] == "running"
    with pytest.raises(ServiceTlsError):
        ask_fresh(Endpoint(target.control_plane_url), "GET", "/health")
