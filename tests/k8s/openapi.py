"""Every body the driver sends, and every manifest `drills schedule` prints, against the real
Kubernetes OpenAPI schemas (`kubernetes-validate` ships them offline), for the oldest and the
newest Kubernetes version drills supports (`SUPPORTED_VERSIONS`).

kmock accepts any JSON; a real API server refuses an unknown field, a wrong type or a missing
required field. The strict schemas (no unknown fields) stand in for that refusal:

- a created object (POST) or a manifest must be a whole, valid object of its kind;
- a patch (PATCH, a JSON merge or strategic merge patch) must be a valid *part* of one: every
  field it sets exists with the right type, required fields need not be there, and `null`
  (delete this key) is allowed anywhere;
- a delete's body must be valid `DeleteOptions`.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource

from drills.targets.kubernetes.resources import SUPPORTED_VERSIONS
from tests.k8s.kube_server import KNOWN_RESOURCES

__all__ = ["SUPPORTED_VERSIONS", "manifest_problems", "request_problems"]

_SCALE = ("autoscaling/v1", "Scale")
_DELETE_OPTIONS = ("meta/v1", "DeleteOptions")


def manifest_problems(doc: dict[str, Any]) -> list[str]:
    """Why `doc` is not a valid object in each supported version ([] when it is)."""
    problems = []
    for version in SUPPORTED_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
            where = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
            problems.append(f"{where} on Kubernetes {version}: {_message(e)}")
    return problems


def request_problems(requests: Iterable[Any]) -> list[str]:
    """Why some request bodies would be refused, as 'METHOD path: version: problem'."""
    problems: list[str] = []
    for request in requests:
        body = request.data
        method = request.method.value
        if not isinstance(body, dict) or method not in ("POST", "PATCH", "PUT", "DELETE"):
            continue
        if request.resource is None or request.resource.plural is None:
            continue
        api_version, kind = _kind_of(request)
        for version in SUPPORTED_VERSIONS:
            if method == "POST" and request.subresource is None:
                whole = {"apiVersion": api_version, "kind": kind, **body}
                found = _problems(whole, api_version, kind, version, partial=False)
            else:
                found = _problems(_without_nulls(body), api_version, kind, version, partial=True)
            problems += [f"{method} {request.url.path}: {version}: {p}" for p in found]
    return problems


def _kind_of(request: Any) -> tuple[str, str]:
    if request.method.value == "DELETE":
        return _DELETE_OPTIONS
    if request.subresource == "scale":
        return _SCALE
    resource = request.resource
    for known in KNOWN_RESOURCES:
        if (known.group, known.version, known.plural) == (
            resource.group or "",
            resource.version,
            resource.plural,
        ):
            return known.api_version, known.kind
    if resource.plural == "selfsubjectaccessreviews":
        return "authorization.k8s.io/v1", "SelfSubjectAccessReview"
    raise AssertionError(f"no kind known for {resource.group}/{resource.plural}")


def _problems(
    body: dict[str, Any], api_version: str, kind: str, version: str, *, partial: bool
) -> list[str]:
    validator = _validator(api_version, kind, version, partial)
    return [_message(error) for error in validator.iter_errors(body)]


@functools.cache
def _validator(api_version: str, kind: str, version: str, partial: bool) -> Any:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{version}.0-local-strict"
    schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", version)
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    if partial:
        schema, definitions = _optional(schema), _optional(definitions)
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _optional(schema: Any) -> Any:
    """`schema` with every `required` list removed (a patch sets only some fields)."""
    if isinstance(schema, dict):
        return {k: _optional(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [_optional(item) for item in schema]
    return schema


def _without_nulls(body: Any) -> Any:
    """A merge patch's `null` deletes a key: valid wherever the key itself is."""
    if isinstance(body, dict):
        return {k: _without_nulls(v) for k, v in body.items() if v is not None}
    if isinstance(body, list):
        return [_without_nulls(item) for item in body]
    return copy.deepcopy(body)


def _message(error: Any) -> str:
    inner = getattr(error, "message", None) or str(error)
    path = "/".join(str(p) for p in getattr(error, "absolute_path", []) or [])
    return f"{path}: {inner}" if path else str(inner).splitlines()[0]
