"""A real HTTP server speaking the Kubernetes API (kmock's emulator), usable from sync tests.

kmock's own pytest fixture is async and shares the test's event loop, where a blocking
`kubernetes` call would never get its answer; so the emulator runs here in its own thread with
its own loop. On top of kmock's stateful emulation it adds what a cluster's controllers and
kubelets would do, each switched on per test:

- generation: a spec change bumps `metadata.generation`, as the API server does;
- a rollout controller (`rollout_delay_seconds`): after a change to a Deployment/StatefulSet it
  reports progress, then completion, through status patches (real HTTP, so watches see them);
- a Job controller (`job_outcome`): a created Job starts, runs a pod, then completes or fails;
- pod logs (`logs`) served as text, and pod exec (`exec_handler`) over a v4/v5 channel websocket;
- SelfSubjectAccessReviews, answered from `rules` (default: the Role `drills schedule` emits),
  so a test can take a verb away and see a dry run name it.

Requests the emulator sends to itself carry kmock's user agent; `driver_requests()` leaves them
out, so assertions and the RBAC check see only what the code under test sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp.web
import kmock
from kubernetes import client

from drills.targets.kubernetes import resources as drills_resources
from drills.targets.kubernetes.permissions import CLUSTER_RULES, NAMESPACED_RULES, Rule

ExecHandler = Callable[[str, str | None, list[str]], tuple[str, str, int]]

DEPLOYMENTS = kmock.resource("apps", "v1", "deployments")
STATEFULSETS = kmock.resource("apps", "v1", "statefulsets")
PODS = kmock.resource("", "v1", "pods")
JOBS = kmock.resource("batch", "v1", "jobs")
INGRESSES = kmock.resource("networking.k8s.io", "v1", "ingresses")
_WORKLOADS = {"deployments": DEPLOYMENTS, "statefulsets": STATEFULSETS}
KNOWN_RESOURCES = [
    value
    for value in vars(drills_resources).values()
    if isinstance(value, drills_resources.Resource)
]


def stamp(instant: datetime | None = None) -> str:
    return (instant or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator plus generation bumps, controllers, logs and exec (see module doc)."""

    rollout_delay_seconds: float | None = None
    job_outcome: str | None = None  # "Complete" | "Failed" | None (Jobs never finish)
    logs: dict[str, str]
    exec_handler: ExecHandler | None = None
    rules: list[Rule]

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.logs = {}
        self.rules = [*NAMESPACED_RULES, *CLUSTER_RULES]
        self._tasks: set[asyncio.Task[None]] = set()

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        internal = str(request.headers.get("User-Agent", "")).startswith("kmock/")
        if request.subresource == "exec":
            return await self._serve_exec(request)
        if request.method == "POST" and request.url.path.endswith("/selfsubjectaccessreviews"):
            return self._review(request.data)
        if request.subresource == "log" and request.method == "GET":
            return self._serve_log(request)
        workload = request.resource is not None and request.resource.plural in _WORKLOADS
        changes_spec = (
            workload
            and not internal
            and request.method == "PATCH"
            and request.subresource in (None, "scale")
            and isinstance(request.data, dict)
            and "spec" in request.data
        )
        if changes_spec:
            key = (_WORKLOADS[request.resource.plural], request.namespace, request.name)
            if key in self.objects and not self.objects[key].deleted:
                meta = dict(self.objects[key]["metadata"].raw)  # views copy: write back whole
                meta["generation"] = int(meta.get("generation") or 1) + 1
                self.objects[key]["metadata"] = meta
        response: aiohttp.web.StreamResponse = await super()._handle(request)
        if changes_spec and self.rollout_delay_seconds is not None and response.status < 300:
            self._spawn(self._roll_out(request.resource.plural, request.namespace, request.name))
        is_job = request.resource is not None and request.resource.plural == "jobs"
        if is_job and request.method == "POST" and not internal and self.job_outcome:
            self._spawn(self._run_job(request.namespace, request.data))
        return response

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _roll_out(self, plural: str, namespace: str, name: str) -> None:
        """Progress, then completion, as status patches (the watch sees each one)."""
        await asyncio.sleep(self.rollout_delay_seconds or 0)
        obj = self.objects[_WORKLOADS[plural], namespace, name]
        generation = int(obj["metadata"].get("generation") or 1)
        desired = int(obj["spec"].get("replicas", 1))
        path = f"/apis/apps/v1/namespaces/{namespace}/{plural}/{name}/status"
        progress: dict[str, int | str]
        done: dict[str, int | str]
        if plural == "deployments":
            progress = {"replicas": desired + 1, "updatedReplicas": min(1, desired)}
            done = {"replicas": desired, "updatedReplicas": desired, "availableReplicas": desired}
            done["readyReplicas"] = desired
        else:
            progress = {"readyReplicas": max(desired - 1, 0), "updateRevision": f"r{generation}"}
            done = {"readyReplicas": desired, "updatedReplicas": desired, "replicas": desired}
            done |= {"currentRevision": f"r{generation}", "updateRevision": f"r{generation}"}
        await self._send("PATCH", path, {"status": {"observedGeneration": generation, **progress}})
        await asyncio.sleep(self.rollout_delay_seconds or 0)
        await self._send("PATCH", path, {"status": {"observedGeneration": generation, **done}})

    async def _run_job(self, namespace: str, job: dict[str, Any]) -> None:
        name = job["metadata"]["name"]
        path = f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}/status"
        await asyncio.sleep(0.01)
        await self._send("PATCH", path, {"status": {"startTime": stamp(), "active": 1}})
        pod = f"{name}-x1"
        self.logs[pod] = f"{job['metadata']['labels'].get('drills.dev/purpose')} done\n"
        await self._send(
            "POST",
            f"/api/v1/namespaces/{namespace}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod, "namespace": namespace, "labels": {"job-name": name}},
                "spec": {"containers": [{"name": "job", "image": "job"}]},
            },
        )
        await asyncio.sleep(0.01)
        ok = self.job_outcome == "Complete"
        condition = {
            "type": self.job_outcome,
            "status": "True",
            "reason": "Done" if ok else "BackoffLimitExceeded",
        }
        status: dict[str, Any] = {"active": 0, "conditions": [condition]}
        status |= {"succeeded": 1, "completionTime": stamp()} if ok else {"failed": 1}
        await self._send("PATCH", path, {"status": status})

    async def _send(self, method: str, path: str, body: Any) -> None:
        async with self.request(method, path, json=body) as response:
            await response.read()

    def _review(self, review: dict[str, Any]) -> aiohttp.web.StreamResponse:
        """Answer a SelfSubjectAccessReview from `rules`, as an RBAC authorizer would."""
        attributes = (review.get("spec") or {}).get("resourceAttributes") or {}
        resource = str(attributes.get("resource", ""))
        if attributes.get("subresource"):
            resource += f"/{attributes['subresource']}"
        allowed = any(
            rule.group == attributes.get("group", "")
            and resource in rule.resources
            and attributes.get("verb") in rule.verbs
            and (not rule.resource_names or attributes.get("name") in rule.resource_names)
            for rule in self.rules
        )
        status = {"allowed": allowed, "reason": "granted by the Role" if allowed else ""}
        return aiohttp.web.json_response({**review, "status": status}, status=201)

    def _serve_log(self, request: Any) -> aiohttp.web.StreamResponse:
        text = self.logs.get(request.name)
        if text is None:
            return aiohttp.web.json_response(
                {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                 "reason": "NotFound", "message": f"pods {request.name!r} not found"},
                status=404,
            )  # fmt: skip
        lines = text.splitlines(keepends=True)
        tail = request.params.get("tailLines")
        if tail is not None:
            lines = lines[-int(tail) :] if int(tail) else []
        return aiohttp.web.Response(text="".join(lines), content_type="text/plain")

    async def _serve_exec(self, request: Any) -> aiohttp.web.StreamResponse:
        ws = aiohttp.web.WebSocketResponse(protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"))
        await ws.prepare(request._raw_request)
        command = list(request.url.query.getall("command", []))
        handler = self.exec_handler or (lambda pod, container, cmd: ("", "no exec handler", 1))
        stdout, stderr, code = handler(request.name, request.params.get("container"), command)
        if stdout:
            await ws.send_bytes(b"\x01" + stdout.encode())
        if stderr:
            await ws.send_bytes(b"\x02" + stderr.encode())
        if code == 0:
            status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        else:
            causes = [{"reason": "ExitCode", "message": str(code)}]
            status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                      "details": {"causes": causes}}  # fmt: skip
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        return ws


class KubeServer:
    """The emulator on 127.0.0.1, on a private loop in a daemon thread."""

    def __init__(self) -> None:
        self.extra_rules: list[Any] = []  # RBAC rules a test grants beyond the default Role
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kmock", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._failed is not None:
            raise RuntimeError(f"kmock did not start: {self._failed!r}")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced by __init__ when it happens during start-up
            self._failed = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with Emulator() as handler, kmock.Server(handler) as server:
            self.handler: Emulator = handler
            for res in KNOWN_RESOURCES:  # an empty resource type would answer 404, as unknown
                key = kmock.resource(res.group, res.version, res.plural)
                handler.resources[key] = kmock.ResourceInfo(
                    namespaced=res.namespaced, kind=res.kind
                )
            self.url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()
            for task in list(handler._tasks):  # controllers still sleeping when the test ended
                task.cancel()
            await asyncio.gather(*handler._tasks, return_exceptions=True)

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def seed(self, resource: Any, *objects: dict[str, Any]) -> None:
        async def put() -> None:
            for obj in objects:
                meta = obj["metadata"]
                self.handler.objects[resource, meta.get("namespace"), meta["name"]] = obj

        self.call(put())

    def send(self, method: str, path: str, body: Any = None) -> int:
        """A request from 'the cluster' (a controller, a kubelet): watches see its effect."""

        async def go() -> int:
            async with self.handler.request(method, path, json=body) as response:
                await response.read()
                return int(response.status)

        status: int = self.call(go())
        return status

    def obj(self, resource: Any, namespace: str | None, name: str) -> dict[str, Any] | None:
        async def get() -> dict[str, Any] | None:
            key = (resource, namespace, name)
            if key not in self.handler.objects or self.handler.objects[key].deleted:
                return None
            raw: dict[str, Any] = self.handler.objects[key].raw
            return raw

        result: dict[str, Any] | None = self.call(get())
        return result

    def all_requests(self) -> list[Any]:
        async def snapshot() -> list[Any]:
            return list(self.handler)

        requests: list[Any] = self.call(snapshot())
        return requests

    def driver_requests(self) -> list[Any]:
        return [
            r
            for r in self.all_requests()
            if not str(r.headers.get("User-Agent", "")).startswith("kmock/")
        ]

    def mutating_requests(self) -> list[Any]:
        return [r for r in self.driver_requests() if r.method.value in MUTATING]

    def api_client(self) -> client.ApiClient:
        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def calls(requests: Sequence[Any]) -> list[tuple[str, str]]:
    """(method, path) of each request, in order."""
    return [(r.method.value, r.url.path) for r in requests]
