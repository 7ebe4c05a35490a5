"""Where the cluster connection comes from: a kubeconfig, or the pod's own service account.

This is the only module that loads client configuration, and it does so without touching the
library's global default `Configuration` (chaosk8s and `config.load_kube_config()` without
arguments both mutate it). `connection_for()` reads local files only, so the production guard
can judge the context and cluster names before any client exists, let alone a request.

Order: the profile's `kubernetes.kubeconfig` if given; else the pod's service account when
running inside a pod; else the default kubeconfig (`$KUBECONFIG` or `~/.kube/config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes import config as _config
from kubernetes.config.config_exception import ConfigException

from drills.errors import ProfileError
from drills.targets.kubernetes.profile import ClusterSettings

__all__ = ["ClusterIdentity", "Connection", "connection_for"]

config: Any = _config  # `kubernetes.config` is untyped: use it as Any, here only


@dataclass(frozen=True)
class ClusterIdentity:
    """Names the guard judges, and where requests go."""

    context: str | None
    cluster: str | None
    server: str
    in_cluster: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "cluster": self.cluster,
            "server": self.server,
            "in_cluster": self.in_cluster,
        }


@dataclass(frozen=True)
class Connection:
    """A loaded client configuration (no requests made yet) and whose it is."""

    configuration: client.Configuration
    identity: ClusterIdentity

    def api_client(self) -> client.ApiClient:
        return client.ApiClient(self.configuration)


def connection_for(settings: ClusterSettings) -> Connection:
    """Load the configuration a profile asks for; `ProfileError` if it cannot be found."""
    if settings.kubeconfig is not None:
        return _from_kubeconfig(settings.kubeconfig, settings.context)
    if settings.context is None:
        in_cluster = _in_cluster()
        if in_cluster is not None:
            return in_cluster
    return _from_kubeconfig(None, settings.context)


def _in_cluster() -> Connection | None:
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except ConfigException:
        return None
    identity = ClusterIdentity(None, None, str(configuration.host), in_cluster=True)
    return Connection(configuration, identity)


def _from_kubeconfig(path: Path | None, context: str | None) -> Connection:
    config_file = None if path is None else str(path)
    where = "the default kubeconfig" if path is None else str(path)
    try:
        contexts, current = config.list_kube_config_contexts(config_file)
    except (ConfigException, OSError) as exc:
        raise ProfileError(f"kubernetes.kubeconfig: cannot use {where}: {exc}") from None
    chosen = _pick(contexts, current, context, where)
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=config_file,
            context=chosen["name"],
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError) as exc:
        raise ProfileError(f"kubernetes.context: cannot load {chosen['name']!r}: {exc}") from None
    cluster = (chosen.get("context") or {}).get("cluster")
    identity = ClusterIdentity(
        context=str(chosen["name"]),
        cluster=None if cluster is None else str(cluster),
        server=str(configuration.host),
        in_cluster=False,
    )
    return Connection(configuration, identity)


def _pick(
    contexts: list[dict[str, Any]] | None,
    current: dict[str, Any] | None,
    wanted: str | None,
    where: str,
) -> dict[str, Any]:
    if wanted is None:
        if not current:
            raise ProfileError(
                f"kubernetes.context: {where} has no current context; name one in the profile"
            )
        return current
    for ctx in contexts or []:
        if ctx.get("name") == wanted:
            return ctx
    names = ", ".join(sorted(str(ctx.get("name")) for ctx in contexts or [])) or "none"
    raise ProfileError(f"kubernetes.context: {wanted!r} is not in {where} (contexts: {names})")
