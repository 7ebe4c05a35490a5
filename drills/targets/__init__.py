"""Target drivers: the embedded sandbox and a Kubernetes staging cluster."""

from drills.targets.base import Backup, Component, SignalKind, SignalSpec, Target

__all__ = ["Backup", "Component", "SignalKind", "SignalSpec", "Target"]
