"""The one door between the driver and the API server.

Every request of the Kubernetes driver goes through a `Gateway`, which is where the safety rails
live, so no code path can step around them:

- the production guard runs in the constructor, before the gateway can send anything;
- in `RunMode.DRY_RUN` every mutating call (create, patch, delete, a mutating exec) is recorded
  in the `Plan` with its method, path and body summary, and not sent; reads still go out, so a
  dry run plans against the cluster's real state;
- client errors become `drills.errors` exceptions with one-line messages (a 403 names the verb
  the runner's Role lacks); transport errors never leak out as urllib3 exceptions.

It calls the official client's typed methods (`patch_namespaced_deployment`, ...) with
`_preload_content=False` and hands back plain JSON dicts: the driver reads a handful of fields,
and the generated models' validation would reject the partial objects some servers return.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client
from kubernetes import stream as _stream
from kubernetes import watch as _watch
from kubernetes.client.exceptions import ApiException

from drills.errors import TargetError, TargetUnreachableError
from drills.safety import GuardMatch, Plan, ProductionGuard, RunMode
from drills.targets.kubernetes.api_errors import (
    JsonObject,
    api_error,
    decode,
    exit_code,
    parse,
    unreachable,
)
from drills.targets.kubernetes.permissions import Access
from drills.targets.kubernetes.resources import PODS, Resource

__all__ = ["ExecResult", "Gateway", "JsonObject"]

# `kubernetes.watch` and `kubernetes.stream` are untyped: use them as Any, here only.
watch: Any = _watch
stream: Any = _stream

_WATCH_POLL_SECONDS = 2.0
_CONNECT_TIMEOUT_SECONDS = 10.0
_MAX_WATCH_RECONNECTS = 5


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container printed, and its exit code (None if unknown)."""

    stdout: str
    stderr: str
    exit_code: int | None


class Gateway:
    """Typed, guarded, dry-run-aware access to one namespace of one cluster."""

    def __init__(
        self,
        api_client: client.ApiClient,
        namespace: str,
        *,
        guard: ProductionGuard,
        context: str | None = None,
        cluster: str | None = None,
        mode: RunMode = RunMode.LIVE,
        plan: Plan | None = None,
        request_timeout_seconds: float = 30.0,
    ) -> None:
        # The guard first: a refused target must not receive a single request.
        self.production_override: tuple[GuardMatch, ...] = guard.check(
            namespace=namespace, context=context, cluster=cluster
        )
        self.api_client = api_client
        self.namespace = namespace
        self.mode = mode
        self.plan = plan if plan is not None else Plan()
        self.request_timeout_seconds = request_timeout_seconds
        # A watch re-connects after this much silence, to honour deadlines and stop requests.
        self.watch_poll_seconds = _WATCH_POLL_SECONDS
        self._apis: dict[type, Any] = {}

    @property
    def dry_run(self) -> bool:
        return self.mode is RunMode.DRY_RUN

    # -- reads -------------------------------------------------------------------------------

    def get(self, res: Resource, name: str) -> JsonObject | None:
        """The object, or None when it does not exist."""
        fn = self._method(res, "read")
        return self._json_call(
            f"get {res.kind} {name}",
            lambda: fn(name, *self._ns(res), **self._opts()),
            missing_ok=True,
        )

    def list(
        self,
        res: Resource,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[JsonObject]:
        return self.list_with_version(
            res, label_selector=label_selector, field_selector=field_selector
        )[0]

    def list_with_version(
        self,
        res: Resource,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[builtins.list[JsonObject], str | None]:
        """The items, and the list's resourceVersion (to watch from without re-listing)."""
        fn = self._method(res, "list")
        query = _query(label_selector=label_selector, field_selector=field_selector)
        body = self._json_call(
            f"list {res.plural}", lambda: fn(*self._ns(res), **query, **self._opts())
        )
        items = (body or {}).get("items") or []
        version = ((body or {}).get("metadata") or {}).get("resourceVersion")
        return [item for item in items if isinstance(item, dict)], version

    def watch(
        self,
        res: Resource,
        *,
        timeout_seconds: float,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[JsonObject]:
        """Watch events (`{"type", "object"}`) until `timeout_seconds` pass or `should_stop()`.

        Without `resource_version`, starts with the current objects (the server's synthetic
        ADDED events); with it (from a list), only changes after that version. The connection is re-opened every few seconds of silence so that the deadline
        and `should_stop` are honoured even when nothing happens.
        """
        fn = self._method(res, "list")
        deadline = time.monotonic() + timeout_seconds
        query = _query(label_selector=label_selector, field_selector=field_selector)
        failures = 0
        while not should_stop() and (remaining := deadline - time.monotonic()) > 0:
            watcher = watch.Watch()
            kwargs: dict[str, Any] = dict(query)
            if resource_version:
                kwargs["resource_version"] = resource_version
            try:
                for event in watcher.stream(
                    fn,
                    *self._ns(res),
                    deserialize=False,
                    timeout_seconds=max(1, int(remaining)),
                    _request_timeout=(
                        _CONNECT_TIMEOUT_SECONDS,
                        min(remaining, self.watch_poll_seconds),
                    ),
                    **kwargs,
                ):
                    failures = 0
                    obj = event.get("object")
                    if isinstance(obj, dict):
                        resource_version = obj.get("metadata", {}).get("resourceVersion")
                        yield {"type": event.get("type"), "object": obj}
                    if should_stop() or time.monotonic() >= deadline:
                        watcher.stop()
                        return
            except urllib3.exceptions.ReadTimeoutError:
                continue  # silence for a poll interval: re-check the deadline, then resume
            except urllib3.exceptions.HTTPError as exc:
                failures += 1
                if failures > _MAX_WATCH_RECONNECTS:
                    raise TargetUnreachableError(f"watch {res.plural}: {exc}") from exc
            except ApiException as exc:
                if exc.status == 410:  # our resourceVersion is too old: start from now
                    resource_version = None
                    continue
                raise api_error(f"watch {res.plural}", exc) from exc

    def pod_log(
        self,
        pod: str,
        *,
        container: str | None = None,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
    ) -> str:
        """A pod's log as text ('' when the pod is gone)."""
        api = self._api(PODS)
        query = _query(
            container=container,
            tail_lines=tail_lines,
            since_seconds=since_seconds,
            timestamps=timestamps or None,
        )
        raw = self._raw_call(
            f"logs of pod {pod}",
            lambda: api.read_namespaced_pod_log(pod, self.namespace, **query, **self._opts()),
            missing_ok=True,
        )
        return "" if raw is None else raw.decode("utf-8", errors="replace")

    # -- writes ------------------------------------------------------------------------------

    def create(self, res: Resource, body: JsonObject) -> JsonObject | None:
        """Create the object; None in a dry run. A name conflict is a TargetError."""
        name = body.get("metadata", {}).get("name")
        if self._planned("POST", res.path(self.namespace), body):
            return None
        fn = self._method(res, "create")
        return self._json_call(
            f"create {res.kind} {name}", lambda: fn(*self._ns(res), body, **self._opts())
        )

    def try_create(self, res: Resource, body: JsonObject) -> tuple[bool, JsonObject | None]:
        """(created, object): created is False when an object of that name already exists."""
        name = body.get("metadata", {}).get("name")
        if self._planned("POST", res.path(self.namespace), body):
            return True, None
        fn = self._method(res, "create")
        try:
            return True, decode(fn(*self._ns(res), body, **self._opts()))
        except ApiException as exc:
            if exc.status == 409:
                return False, None
            raise api_error(f"create {res.kind} {name}", exc) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise unreachable(f"create {res.kind} {name}", exc) from exc

    def apply(self, res: Resource, body: JsonObject) -> JsonObject | None:
        """Create the object, or patch the existing one with `body` (kubectl apply, roughly)."""
        created, obj = self.try_create(res, body)
        if created:
            return obj
        return self.patch(res, str(body["metadata"]["name"]), body)

    def patch(
        self, res: Resource, name: str, body: JsonObject, *, sub: str | None = None
    ) -> JsonObject | None:
        """Strategic-merge patch (the client's default for dicts); None in a dry run."""
        if self._planned("PATCH", res.path(self.namespace, name, sub), body):
            return None
        fn = self._method(res, "patch", sub)
        what = f"patch {res.kind} {name}" + (f"/{sub}" if sub else "")
        return self._json_call(what, lambda: fn(name, *self._ns(res), body, **self._opts()))

    def patch_unless_conflict(
        self, res: Resource, name: str, body: JsonObject
    ) -> tuple[bool, JsonObject | None]:
        """Patch with `metadata.resourceVersion` in `body`: (False, None) if changed meanwhile."""
        if self._planned("PATCH", res.path(self.namespace, name), body):
            return True, None
        fn = self._method(res, "patch")
        try:
            return True, decode(fn(name, self.namespace, body, **self._opts()))
        except ApiException as exc:
            if exc.status == 409:
                return False, None
            raise api_error(f"patch {res.kind} {name}", exc) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise unreachable(f"patch {res.kind} {name}", exc) from exc

    def delete(
        self,
        res: Resource,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        resource_version: str | None = None,
        missing_ok: bool = True,
    ) -> bool:
        """Delete the object; False when it was already gone (or in a dry run)."""
        options: JsonObject = {}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        if resource_version is not None:
            options["preconditions"] = {"resourceVersion": resource_version}
        if self._planned("DELETE", res.path(self.namespace, name), options or None):
            return False
        fn = self._method(res, "delete")
        result = self._raw_call(
            f"delete {res.kind} {name}",
            lambda: fn(name, *self._ns(res), body=options or None, **self._opts()),
            missing_ok=missing_ok,
        )
        return result is not None

    def exec(
        self,
        pod: str,
        command: Sequence[str],
        *,
        container: str | None,
        mutating: bool,
        timeout_seconds: float = 60.0,
    ) -> ExecResult | None:
        """Run `command` in a container (no TTY, no stdin); None when a dry run planned it."""
        path = PODS.path(self.namespace, pod, "exec")
        # The client opens exec as a websocket GET; a mutating command is planned, not run.
        if mutating and self._planned("GET", path, {"command": list(command)}):
            return None
        # `kubernetes.stream` swaps the ApiClient's transport while it runs: give it a private
        # client so a concurrent watch on the shared one is not hijacked.
        with client.ApiClient(self.api_client.configuration) as private:
            core = client.CoreV1Api(private)
            try:
                ws = stream.stream(
                    core.connect_get_namespaced_pod_exec,
                    pod,
                    self.namespace,
                    command=list(command),
                    container=container,
                    stderr=True,
                    stdin=False,
                    stdout=True,
                    tty=False,
                    _preload_content=False,
                )
                ws.run_forever(timeout=timeout_seconds)
                if ws.is_open():
                    ws.close()
                    raise TargetError(
                        f"exec in pod {pod}: still running after {timeout_seconds:.0f} s"
                    )
                result = ExecResult(ws.read_stdout(), ws.read_stderr(), exit_code(ws))
                ws.close()
            except ApiException as exc:
                raise api_error(f"exec in pod {pod}", exc) from exc
            except (OSError, urllib3.exceptions.HTTPError) as exc:
                raise unreachable(f"exec in pod {pod}", exc) from exc
        return result

    def access_allowed(self, access: Access) -> tuple[bool | None, str]:
        """A SelfSubjectAccessReview: may this client do `access`? (None: the server could not
        say), and its reason. A review changes nothing, so a dry run sends it too."""
        attributes = {
            "namespace": access.namespace,
            "verb": access.verb,
            "group": access.group,
            "resource": access.resource,
            "subresource": access.subresource,
            "name": access.name,
        }
        body: Any = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {k: v for k, v in attributes.items() if v}},
        }
        api = self._apis.get(client.AuthorizationV1Api)
        if api is None:
            api = self._apis[client.AuthorizationV1Api] = client.AuthorizationV1Api(self.api_client)
        review = self._json_call(
            f"access review of {access.render()}",
            lambda: api.create_self_subject_access_review(body, **self._opts()),
        )
        status = (review or {}).get("status") or {}
        allowed = status.get("allowed")
        reason = str(status.get("reason") or status.get("evaluationError") or "")
        return (allowed if isinstance(allowed, bool) else None), reason

    def plan_wait(self, res: Resource, name: str, until: str) -> None:
        """Record a wait a dry run skips (it would watch `name` until `until`)."""
        self.plan.record(
            "WATCH", f"{res.path(self.namespace)}?fieldSelector=metadata.name={name}", note=until
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _planned(self, method: str, path: str, body: object) -> bool:
        if not self.dry_run:
            return False
        self.plan.record(method, path, body)
        return True

    def _api(self, res: Resource) -> Any:
        api = self._apis.get(res.api)
        if api is None:
            api = self._apis[res.api] = res.api(self.api_client)
        return api

    def _method(self, res: Resource, verb: str, sub: str | None = None) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self._api(res), res.method_name(verb, sub))
        return method

    def _ns(self, res: Resource) -> tuple[str, ...]:
        return (self.namespace,) if res.namespaced else ()

    def _opts(self) -> dict[str, Any]:
        return {
            "_preload_content": False,
            "_request_timeout": (_CONNECT_TIMEOUT_SECONDS, self.request_timeout_seconds),
        }

    def _raw_call(
        self, what: str, call: Callable[[], Any], *, missing_ok: bool = False
    ) -> bytes | None:
        try:
            response = call()
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            raise api_error(what, exc) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise unreachable(what, exc) from exc
        data: bytes = response.data
        return data

    def _json_call(
        self, what: str, call: Callable[[], Any], *, missing_ok: bool = False
    ) -> JsonObject | None:
        raw = self._raw_call(what, call, missing_ok=missing_ok)
        return None if raw is None else parse(what, raw)


def _query(**params: object) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}
