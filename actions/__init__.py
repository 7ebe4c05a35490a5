"""Faults and recovery steps for Chaos Toolkit experiments (`type: python`, `module: actions.<name>`).

Each adapts its arguments and asks the target driver; none knows which platform it runs on.
"""

# `chaos discover` asks the first top-level package of the installed distribution for a
# `discover` function, and for this distribution that is `actions`.
from drills.discovery import discover

__all__ = ["discover"]
