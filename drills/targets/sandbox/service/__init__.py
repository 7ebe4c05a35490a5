"""The sandbox's reference control-plane service ("Maestro Conductor" in the runbook).

A small HTTP service backed by the sandbox's real PostgreSQL and Redis, with the runbook's
endpoints, real circuit breakers, per-client rate limiting, a deny list and a maintenance mode.
The harness starts replicas with `python -m drills.targets.sandbox.service --config PATH
--replica N` and changes them at run time through `write_runtime`. Only the light, harness-facing
pieces are exported here; the web stack is imported by the replica process alone.
"""

from drills.targets.sandbox.service.config import ServiceConfig
from drills.targets.sandbox.service.runtime import RuntimeState, load_runtime, write_runtime

__all__ = ["RuntimeState", "ServiceConfig", "load_runtime", "write_runtime"]
