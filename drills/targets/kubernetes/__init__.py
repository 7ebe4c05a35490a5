"""The Kubernetes target: a staging cluster driven through the official client.

`load_profile()` reads a target profile; `open_target()` connects as it says (kubeconfig or
in-cluster) after the production guard approved the names; `open_kubernetes_profile()` does both.
`KubernetesTarget` implements `drills.targets.base.Target` plus the runbook's cluster steps.
"""

from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.factory import open_kubernetes_profile, open_target
from drills.targets.kubernetes.lease import DrillLease
from drills.targets.kubernetes.profile import KubernetesProfile, load_profile, parse_profile

__all__ = [
    "DrillLease",
    "KubernetesProfile",
    "KubernetesTarget",
    "load_profile",
    "open_kubernetes_profile",
    "open_target",
    "parse_profile",
]
