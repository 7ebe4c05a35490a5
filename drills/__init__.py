"""drills: chaos-engineering and disaster-recovery drills that measure what a disaster costs.

The engine (this package) runs Chaos Toolkit experiments against a target, samples the target's
signals and writes canary records through it while the fault is live, and turns what it saw into
recovery time (RTO), data loss (RPO) and a verdict against the runbook's objectives.
"""

__version__ = "0.1.0"

from drills.discovery import discover  # `chaos discover drills`

__all__ = ["__version__", "discover"]
