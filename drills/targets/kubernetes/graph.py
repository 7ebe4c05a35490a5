"""The graph store (Neo4j) from inside its pod: Cypher through `cypher-shell`, as an operator runs it.

The runbook works on Neo4j with `kubectl`; the driver does the same through the exec API: `kubectl
exec neo4j-0 -c neo4j -- cypher-shell`, no TTY, the query an argument (never shell text), its
parameters as `--param 'name => literal'`, the answer in `--format plain` (a header line, then one
line per row of Cypher literals) parsed back into rows. The credentials stay in the pod: the
official image's `NEO4J_USERNAME` / `NEO4J_PASSWORD` are read there, never sent by us.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drills.cypher import literal
from drills.errors import TargetError
from drills.targets.base import Component, GraphValue
from drills.targets.kubernetes.gateway import Gateway
from drills.targets.kubernetes.profile import KubernetesProfile, WorkloadKind

__all__ = ["cypher_shell_command", "graph_pod", "parse_plain", "run_cypher"]

_SHELL = 'exec cypher-shell -u "${NEO4J_USERNAME:-neo4j}" -p "${NEO4J_PASSWORD:-}" "$@"'


def cypher_shell_command(cypher: str, params: Mapping[str, GraphValue]) -> list[str]:
    """The argv that runs `cypher` with cypher-shell in the pod (plain output, stop on error)."""
    argv = ["sh", "-c", _SHELL, "cypher-shell", "--format", "plain", "--fail-fast"]
    for name, value in params.items():
        argv += ["--param", f"{name} => {literal(value)}"]
    return [*argv, cypher]


def graph_pod(profile: KubernetesProfile) -> tuple[str, str | None]:
    """The pod (ordinal 0 of the neo4j StatefulSet) and container to run cypher-shell in."""
    spec = profile.components.get(Component.NEO4J)
    if spec is None:
        raise TargetError("the profile names no neo4j component (components.neo4j)")
    if spec.kind is not WorkloadKind.STATEFULSET:
        raise TargetError("components.neo4j must be a statefulset to run cypher-shell in its pod")
    return f"{spec.name}-0", spec.container


def run_cypher(
    gateway: Gateway,
    profile: KubernetesProfile,
    cypher: str,
    params: Mapping[str, GraphValue],
    *,
    mutating: bool,
) -> list[tuple[Any, ...]]:
    """The rows of one query; [] when a dry run planned a mutating one."""
    pod, container = graph_pod(profile)
    result = gateway.exec(
        pod, cypher_shell_command(cypher, params), container=container, mutating=mutating
    )
    if result is None:
        return []
    if result.exit_code != 0:
        first = (result.stderr.strip().splitlines() or ["no error output"])[0]
        raise TargetError(f"cypher-shell in pod {pod} exited with {result.exit_code}: {first}")
    return parse_plain(result.stdout)


def parse_plain(text: str) -> list[tuple[Any, ...]]:
    """Rows of cypher-shell's `--format plain` output (the header line dropped)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return [tuple(_values(line)) for line in lines[1:]]


def _values(line: str) -> list[Any]:
    out: list[Any] = []
    i = 0
    while i < len(line):
        if line[i] == '"':
            chars: list[str] = []
            i += 1
            while i < len(line) and line[i] != '"':
                if line[i] == "\\" and i + 1 < len(line):
                    i += 1
                    chars.append({"n": "\n", "t": "\t", "r": "\r"}.get(line[i], line[i]))
                else:
                    chars.append(line[i])
                i += 1
            out.append("".join(chars))
            i += 1
        else:
            end = line.find(", ", i)
            end = len(line) if end < 0 else end
            out.append(_scalar(line[i:end].strip()))
            i = end
        if line.startswith(", ", i):
            i += 2
    return out


def _scalar(token: str) -> Any:
    if token == "NULL" or token == "null":
        return None
    if token in ("TRUE", "true", "FALSE", "false"):
        return token.lower() == "true"
    try:
        return int(token)
    except ValueError:
        try:
            return float(token)
        except ValueError:
            return token
