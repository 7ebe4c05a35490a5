"""What a staging cluster's kubelets and controllers would do, on top of the kmock API server.

kmock stores objects and serves watches; nothing in it *acts*. `ClusterEmulator` is the acting
part, a reconcile loop in its own thread that talks to the API server over real HTTP (so the
driver's watches see every change, exactly as they would see a kubelet's):

- Deployment / StatefulSet controllers: as many pods as `spec.replicas`, built from the pod
  template; a deleted pod is recreated; a changed template (`rollout restart`, a resources
  patch) replaces the pods (a Deployment surges new pods first, a StatefulSet replaces one pod
  at a time, highest ordinal first); workload `status` follows the pods, as `kubectl rollout
  status` reads it;
- a kubelet: a new pod turns Ready `ready_after_seconds` after it was created (its
  `lastTransitionTime` in whole seconds, as the API server stores it);
- a Job controller: a created Job completes after `job_seconds`, fails, or hangs forever,
  chosen per purpose (`job_outcomes`); the Job's pod and its log are created too. With `scripts`
  (`tests/k8s/dr_scripts.py`), backup, verify, restore and reseed Jobs run what such Jobs run in a
  cluster against the real PostgreSQL behind `database.conninfo`, with the Job's environment, and
  complete or fail as that does (its output is the pod's log); the database is down while its
  restore runs;
- `psql` in a database pod (exec): finds no long-running query, terminates none, and
  `pg_promote()` promotes the standby; every statement is kept in `sql` for tests to count;
- a NetworkPolicy denying addresses (`block_addresses`): `blocked`, which the service drops;
- the system's own health (`service_up`): the control plane answers only while a control-plane
  pod is Ready, a database pod (the primary, or the promoted standby) is Ready, Redis is Ready,
  and no drills NetworkPolicy isolates a store. Each change of that answer is recorded
  (`transitions`, wall-clock UTC): the truth a measured RTO is compared with.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import kmock

from drills.targets.kubernetes.manifests import BLOCK_POLICY_NAME, FAULT_POLICY_PREFIX
from tests.k8s.dr_scripts import DrScripts, ScriptFailed
from tests.k8s.kube_server import DEPLOYMENTS, JOBS, PODS, STATEFULSETS, KubeServer, stamp

NETWORK_POLICIES = kmock.resource("networking.k8s.io", "v1", "networkpolicies")

REVISION = "emulator.drills.dev/template-hash"
JobOutcome = str  # "Complete" | "Failed" | "hang"
SCRIPTED_JOBS = frozenset({"backup", "verify", "restore", "rebuild-standby"})


@dataclass
class _Workload:
    plural: str  # deployments | statefulsets
    namespace: str
    name: str
    obj: dict[str, Any]

    @property
    def selector(self) -> dict[str, str]:
        return dict(((self.obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})

    @property
    def desired(self) -> int:
        return int((self.obj.get("spec") or {}).get("replicas", 1))

    @property
    def revision(self) -> str:
        template = (self.obj.get("spec") or {}).get("template") or {}
        return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


@dataclass
class Transition:
    """The service started (`up`) or stopped answering at `at` (UTC)."""

    up: bool
    at: datetime


@dataclass
class ClusterEmulator:
    """Start after seeding; `stop()` at the end of the test (the fixture does both)."""

    kube: KubeServer
    ready_after_seconds: float = 1.0
    job_seconds: float = 0.3
    job_outcomes: dict[str, JobOutcome] = field(default_factory=dict)
    tick_seconds: float = 0.02
    control_plane: str = "maestro-control-plane"
    primary: str = "postgresql"
    standby: str | None = None
    redis: str | None = "redis"
    neo4j: str | None = None  # the graph store's StatefulSet, when the cluster runs one
    transitions: list[Transition] = field(default_factory=list)
    jobs_seen: list[str] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    # Further parts of "the system answers" (the service's capacity under a flood), by name.
    checks: dict[str, Callable[[], bool]] = field(default_factory=dict)
    scripts: DrScripts | None = None  # what backup/restore Jobs really do, when given

    def __post_init__(self) -> None:
        self._born: dict[str, float] = {}
        self._seed_revisions: dict[tuple[str, str], str] = {}
        self._jobs: dict[str, float] = {}
        self._scripts_done: dict[str, tuple[bool, str]] = {}  # Job -> (succeeded, log)
        self._names = itertools.count(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cluster-emulator", daemon=True)
        self.promoted = False
        self.up: bool | None = None
        self.parts: dict[str, bool] = {}
        self.ready_control_plane: list[str] = []
        self.blocked: frozenset[str] = frozenset()  # addresses the block NetworkPolicy denies
        self.error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        for workload in self._workloads():
            self._seed_revisions[workload.plural, workload.name] = workload.revision
        self.kube.handler.exec_handler = self._psql
        self._tick()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            try:
                self._tick()
            except BaseException as exc:  # surfaced by the test through `error`
                self.error = exc
                return

    # -- what tests read ---------------------------------------------------------------------

    def last_recovery(self) -> datetime | None:
        """When the service last started answering again after being down."""
        ups = [t.at for t in self.transitions[1:] if t.up]
        return ups[-1] if ups else None

    def outages(self) -> int:
        return sum(1 for t in self.transitions if not t.up)

    def replicas(self, plural: str, name: str) -> int | None:
        obj = self.kube.obj(DEPLOYMENTS if plural == "deployments" else STATEFULSETS, _ns(), name)
        return None if obj is None else int(obj["spec"].get("replicas", 1))

    def live_jobs(self) -> list[str]:
        self._refresh()
        return [str(j["metadata"]["name"]) for j in self._objects(JOBS)]

    def _psql(self, pod: str, container: str | None, command: list[str]) -> tuple[str, str, int]:
        """A `psql -c SQL` in a pod (runs on the API server's loop: reads only its own state)."""
        statement = next((arg for arg in command if "SELECT" in arg.upper()), " ".join(command))
        self.sql.append(statement)
        if "pg_promote" in statement:
            self.promoted = True
            return json.dumps([{"promoted": True}]), "", 0
        return "[]", "", 0

    # -- the reconcile loop ------------------------------------------------------------------

    def _tick(self) -> None:
        self._refresh()
        pods = self._objects(PODS)
        for workload in self._workloads():
            mine = [p for p in pods if _matches(p, workload.selector)]
            if workload.plural == "deployments":
                self._reconcile_deployment(workload, mine)
            else:
                self._reconcile_statefulset(workload, mine)
        self._refresh()
        self._kubelet(self._objects(PODS))
        self._job_controller()
        self._refresh()
        self._observe_health()

    def _reconcile_deployment(self, w: _Workload, pods: list[dict[str, Any]]) -> None:
        current = [p for p in pods if self._revision_of(w, p) == w.revision]
        old = [p for p in pods if self._revision_of(w, p) != w.revision]
        for _ in range(w.desired - len(current)):
            self._create_pod(w, f"{w.name}-{w.revision[:5]}-{next(self._names)}")
        for extra in current[w.desired :]:
            self._delete(PODS, extra)
        ready_current = sum(1 for p in current if _ready(p))
        if old and ready_current >= w.desired:
            for pod in old:
                self._delete(PODS, pod)
        total = len(pods) + max(0, w.desired - len(current))
        status = {
            "observedGeneration": int(w.obj["metadata"].get("generation") or 1),
            "replicas": total,
            "updatedReplicas": min(len(current), w.desired) + max(0, w.desired - len(current)),
            "readyReplicas": sum(1 for p in pods if _ready(p)),
            "availableReplicas": min(ready_current, w.desired),
        }
        self._set_status(w, status)

    def _reconcile_statefulset(self, w: _Workload, pods: list[dict[str, Any]]) -> None:
        by_name = {str(p["metadata"]["name"]): p for p in pods}
        wanted = [f"{w.name}-{i}" for i in range(w.desired)]
        for name in wanted:
            if name not in by_name:
                self._create_pod(w, name)
        for name, pod in by_name.items():
            if name not in wanted:
                self._delete(PODS, pod)
        present = [by_name[n] for n in wanted if n in by_name]
        outdated = [p for p in present if self._revision_of(w, p) != w.revision]
        if outdated and all(_ready(p) for p in present if p not in outdated[-1:]):
            self._delete(PODS, outdated[-1])  # one at a time, highest ordinal first
        updated = len(present) - len(outdated)
        status = {
            "observedGeneration": int(w.obj["metadata"].get("generation") or 1),
            "replicas": len(present),
            "readyReplicas": sum(1 for p in present if _ready(p)),
            "updatedReplicas": updated,
            "updateRevision": w.revision,
            "currentRevision": w.revision if not outdated else "previous",
        }
        self._set_status(w, status)

    def _revision_of(self, w: _Workload, pod: dict[str, Any]) -> str:
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        seeded = self._seed_revisions.get((w.plural, w.name), w.revision)
        return str(annotations.get(REVISION, seeded))

    def _create_pod(self, w: _Workload, name: str) -> None:
        template = (w.obj.get("spec") or {}).get("template") or {}
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        containers = ((template.get("spec") or {}).get("containers")) or [{"name": "app"}]
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": w.namespace,
                "labels": labels,
                "annotations": {REVISION: w.revision},
            },
            "spec": {"containers": containers, "nodeName": "node-a"},
            "status": {
                "phase": "Pending",
                "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": stamp()}],
            },
        }
        self._born[name] = time.monotonic()
        self.kube.send("POST", f"/api/v1/namespaces/{w.namespace}/pods", body)

    def _kubelet(self, pods: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for pod in pods:
            name = str(pod["metadata"]["name"])
            born = self._born.get(name)
            if born is None or _ready(pod) or now - born < self.ready_after_seconds:
                continue
            containers = (pod.get("spec") or {}).get("containers") or []
            status = {
                "phase": "Running",
                "podIP": "10.42.0.9",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": stamp()}],
                "containerStatuses": [_container_ready(c) for c in containers],
            }
            self.kube.send("PATCH", _pod_path(pod) + "/status", {"status": status})

    def _job_controller(self) -> None:
        now = time.monotonic()
        for job in self._objects(JOBS):
            meta = job["metadata"]
            name = str(meta["name"])
            purpose = str((meta.get("labels") or {}).get("drills.dev/purpose", ""))
            path = f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{name}/status"
            scripted = (
                self.scripts is not None
                and purpose in SCRIPTED_JOBS
                and purpose not in self.job_outcomes
            )
            if name not in self._jobs:
                self._jobs[name] = now
                self.jobs_seen.append(name)
                self.kube.handler.logs[f"{name}-x1"] = f"{purpose} running\n{purpose} done\n"
                self.kube.send(
                    "POST",
                    f"/api/v1/namespaces/{meta['namespace']}/pods",
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {"name": f"{name}-x1", "labels": {"job-name": name}},
                        "spec": {"containers": [{"name": "job", "image": "job"}]},
                    },
                )
                self.kube.send("PATCH", path, {"status": {"startTime": stamp(), "active": 1}})
                if scripted:
                    self._start_script(name, purpose, _job_env(job))
                continue
            outcome = self.job_outcomes.get(purpose, "Complete")
            status = job.get("status") or {}
            if (
                outcome == "hang"
                or status.get("conditions")
                or now - self._jobs[name] < self.job_seconds
            ):
                continue
            if scripted:
                if name not in self._scripts_done:
                    continue  # still running
                ok, log = self._scripts_done[name]
                self.kube.handler.logs[f"{name}-x1"] = log
                outcome = "Complete" if ok else "Failed"
            if purpose == "promote" and outcome == "Complete":
                self.promoted = True
            if purpose == "rebuild-standby" and outcome == "Complete":
                self.promoted = False
            ok = outcome == "Complete"
            condition = {"type": outcome, "status": "True", "reason": "Done" if ok else "Failed"}
            body: dict[str, Any] = {"active": 0, "conditions": [condition]}
            body |= {"succeeded": 1, "completionTime": stamp()} if ok else {"failed": 1}
            self.kube.send("PATCH", path, {"status": body})

    def _start_script(self, job: str, purpose: str, env: dict[str, str]) -> None:
        """Run the Job's script in its own thread (a restore takes seconds; the controllers
        and the kubelet must keep working meanwhile, as in a cluster)."""
        scripts = self.scripts
        assert scripts is not None

        def run() -> None:
            try:
                self._scripts_done[job] = (True, scripts.run(purpose, env))
            except ScriptFailed as exc:
                self._scripts_done[job] = (False, f"{purpose} failed\n{exc}\n")

        threading.Thread(target=run, name=f"job-{job}", daemon=True).start()

    def _observe_health(self) -> None:
        self.parts = self._parts()
        up = all(self.parts.values())
        if up != self.up:
            self.up = up
            self.transitions.append(Transition(up, datetime.now(UTC)))

    def _parts(self) -> dict[str, bool]:
        """Is each part of the system answering now? (see the module docstring)"""
        pods = self._objects(PODS)
        selectors = {w.name: w.selector for w in self._workloads()}
        isolated = {
            str(p["metadata"]["name"]).removeprefix(FAULT_POLICY_PREFIX)
            for p in self._objects(NETWORK_POLICIES)
        }

        def ready(workload: str | None) -> bool:
            if workload is None:
                return True
            selector = selectors.get(workload, {})
            return any(_ready(p) and _matches(p, selector) for p in pods)

        self.blocked = frozenset(
            cidr.removesuffix("/32")
            for policy in self._objects(NETWORK_POLICIES)
            if policy["metadata"]["name"] == BLOCK_POLICY_NAME
            for peer in ((policy.get("spec") or {}).get("ingress") or [{}])[0].get("from") or []
            for cidr in (peer.get("ipBlock") or {}).get("except") or []
        )
        self.ready_control_plane = [
            str(p["metadata"]["name"])
            for p in pods
            if _ready(p) and _matches(p, selectors.get(self.control_plane, {}))
        ]
        restoring = self.scripts is not None and self.scripts.restoring
        database = not restoring and (
            ready(self.primary) or (self.promoted and ready(self.standby))
        )
        return {
            "control-plane": bool(self.ready_control_plane),
            "postgres": database and "postgres" not in isolated,
            "redis": ready(self.redis) and "redis" not in isolated,
            **(
                {"neo4j": ready(self.neo4j) and "neo4j" not in isolated}
                if self.neo4j is not None
                else {}
            ),
            **{name: check() for name, check in self.checks.items()},
        }

    # -- API plumbing ------------------------------------------------------------------------

    def _refresh(self) -> None:
        """One copy of every live object, taken on the server's loop in one call (a tick reads
        from it: fewer cross-thread calls leave the GIL to the service under test)."""

        async def snapshot() -> dict[Any, list[dict[str, Any]]]:
            found: dict[Any, list[dict[str, Any]]] = {}
            for key, obj in self.kube.handler.objects.items():
                if not obj.deleted:
                    found.setdefault(key[0], []).append(json.loads(json.dumps(obj.raw)))
            return found

        self._snapshot = self.kube.call(snapshot())

    def _objects(self, resource: Any) -> list[dict[str, Any]]:
        if not hasattr(self, "_snapshot"):
            self._refresh()
        return list(self._snapshot.get(resource, []))

    def _workloads(self) -> list[_Workload]:
        found = []
        for plural, resource in (("deployments", DEPLOYMENTS), ("statefulsets", STATEFULSETS)):
            for obj in self._objects(resource):
                meta = obj["metadata"]
                found.append(_Workload(plural, str(meta.get("namespace")), meta["name"], obj))
        return found

    def _set_status(self, w: _Workload, status: dict[str, Any]) -> None:
        current = w.obj.get("status") or {}
        if all(current.get(key) == value for key, value in status.items()):
            return
        path = f"/apis/apps/v1/namespaces/{w.namespace}/{w.plural}/{w.name}/status"
        self.kube.send("PATCH", path, {"status": status})

    def _delete(self, resource: Any, obj: dict[str, Any]) -> None:
        del resource  # pods only, today
        self._born.pop(str(obj["metadata"]["name"]), None)
        self.kube.send("DELETE", _pod_path(obj))


def _ns() -> str:
    from tests.k8s.objects import NS

    return NS


def _pod_path(pod: dict[str, Any]) -> str:
    meta = pod["metadata"]
    return f"/api/v1/namespaces/{meta.get('namespace') or _ns()}/pods/{meta['name']}"


def _matches(obj: dict[str, Any], selector: dict[str, str]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _job_env(job: dict[str, Any]) -> dict[str, str]:
    """The environment the driver gave the Job's (first) container."""
    containers = ((job.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
    env = (containers or [{}])[0].get("env") or []
    return {str(item["name"]): str(item.get("value", "")) for item in env if "name" in item}


def _container_ready(container: dict[str, Any]) -> dict[str, Any]:
    name = container.get("name", "app")
    return {"name": name, "ready": True, "restartCount": 0, "image": "x", "imageID": ""}


def _ready(pod: dict[str, Any]) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False
