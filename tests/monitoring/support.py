"""Skip markers for tests that need Debian's Prometheus packages."""

from __future__ import annotations

import pytest

from drills.monitoring.rules import promtool
from drills.targets.sandbox.monitoring import missing_packages

_MISSING = missing_packages()

needs_monitoring = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")
needs_promtool = pytest.mark.skipif(
    promtool() is None, reason="promtool not installed (Debian package: prometheus)"
)
