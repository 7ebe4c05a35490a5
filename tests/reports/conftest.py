"""Fixtures of the report tests: one finished run of each verdict."""

from __future__ import annotations

import pytest

from tests.reports.runs import ALL_RUNS, Run


@pytest.fixture(params=ALL_RUNS, ids=lambda build: build.__name__.removesuffix("_run"))
def run(request: pytest.FixtureRequest) -> Run:
    build = request.param
    return build()  # type: ignore[no-any-return]
