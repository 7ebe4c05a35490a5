"""The flood speaks TLS to an https control plane, from its own source addresses."""

from __future__ import annotations

import asyncio
from pathlib import Path

from drills.flood import FloodPlan, run_flood
from tests.controlplane.tls_server import https_server, make_ca


def plan(url: str, ca_bundle: Path) -> FloodPlan:
    return FloodPlan(
        url=url,
        path="/health",
        method="GET",
        body=None,
        sources=("127.0.0.11", "127.0.0.12"),
        connections=2,
        rate_per_second=100.0,
        max_requests=20,
        max_seconds=10.0,
        ca_bundle=str(ca_bundle),
    )


def test_a_flood_over_tls_is_answered(tmp_path: Path) -> None:
    good, other = make_ca(tmp_path, "good"), make_ca(tmp_path, "other")
    with https_server(good) as url:
        answered = asyncio.run(run_flood(plan(url, good.ca_bundle)))
        refused = asyncio.run(run_flood(plan(url, other.ca_bundle)))
    assert answered.by_status == {"200": 20} and answered.errors == 0
    assert refused.by_status == {} and refused.errors == refused.requests == 20
    # the plan travels to the flood's own process as JSON, trust included
    assert FloodPlan.from_json(plan(url, good.ca_bundle).to_json()).endpoint.trust.ca_bundle == (
        good.ca_bundle
    )
