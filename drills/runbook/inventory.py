"""What a target can say about the runbook's Kubernetes names, and the kubectl check built on it.

An `Inventory` answers three questions for a kubectl step — does this namespace exist, does this
object exist, does this label selector match pods — each as ok, drift (with what exists instead)
or cannot check here. The sandbox and a Kubernetes profile each have one; `check_kubectl` asks
them in a fixed order and keeps the worst answer, so a step is ok only when every name in it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import yaml

from drills.runbook.findings import Answer, Status, cannot, drift, ok
from drills.runbook.local import find_file
from drills.runbook.steps import KubectlStep, ObjectRef

__all__ = ["Inventory", "check_kubectl", "worst"]

_ORDER = {Status.OK: 0, Status.CANNOT_CHECK: 1, Status.DRIFT: 2}


class Inventory(Protocol):
    """A target's view of the runbook's Kubernetes names (read-only)."""

    name: str

    def namespace(self, namespace: str | None) -> tuple[Answer, str]:
        """The answer for a step's namespace, and the namespace to look in on this target."""
        ...

    def object(self, ref: ObjectRef, namespace: str) -> Answer: ...

    def selector(self, terms: tuple[tuple[str, str], ...], text: str, namespace: str) -> Answer: ...

    def absent(self, word: str) -> str | None:
        """Why this target cannot have something named `word` (e.g. the sandbox has no ingress controller)."""
        ...


def worst(answers: list[Answer]) -> Answer:
    """The worst answer; its detail joined with the others' when several are not ok."""
    top = max(answers, key=lambda a: _ORDER[a.status])
    if top.status is Status.OK:
        return answers[-1]  # the most specific: the namespace comes first
    same = [a.detail for a in answers if a.status is top.status]
    return Answer(top.status, "; ".join(dict.fromkeys(same)), top.suggestion)


def _manifest_file(path: str, scripts_dir: Path | None) -> Answer:
    if scripts_dir is None:
        return cannot(f"manifest {path}: no --scripts-dir given to look for it")
    found, answer = find_file(path, scripts_dir, executable=False)
    if found is None:
        return answer
    try:
        docs = [d for d in yaml.safe_load_all(found.read_text(encoding="utf-8")) if d is not None]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return drift(f"manifest {path} is not valid YAML ({type(exc).__name__})")
    return ok(f"manifest {path} holds {len(docs)} object(s)")


def _inline_objects(text: str) -> list[dict[str, Any]] | str:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        return f"the inline manifest is not valid YAML ({type(exc).__name__})"
    return [d for d in docs if isinstance(d, dict)]


def check_kubectl(step: KubectlStep, inventory: Inventory, scripts_dir: Path | None) -> Answer:
    """Namespace, then objects, selector and manifests, read-only; the worst answer wins."""
    answer, namespace = inventory.namespace(step.namespace)
    if answer.status is not Status.OK:
        return answer
    answers = [answer]
    for ref in step.objects:
        if ref.name is None and step.selector_text:
            continue  # `get pods -l app=x`: the selector says more than listing the kind
        answers.append(inventory.object(ref, namespace))
    if step.selector_text:
        if not step.selector:
            answers.append(cannot(f"selector {step.selector_text!r} is not equality-based"))
        else:
            answers.append(inventory.selector(step.selector, step.selector_text, namespace))
    for path in step.files:
        answers.append(_manifest_file(path, scripts_dir))
    if step.manifest is not None:
        objects = _inline_objects(step.manifest)
        if isinstance(objects, str):
            answers.append(drift(objects))
        for obj in objects if isinstance(objects, list) else ():
            meta = obj.get("metadata") or {}
            ns_answer, _ = inventory.namespace(meta.get("namespace") or step.namespace)
            answers.append(ns_answer)
            answers.append(ok(f"would apply {obj.get('kind')}/{meta.get('name')} (not sent)"))
    if len(answers) == 1 and not step.objects:
        answers.append(cannot(f"kubectl {step.verb} names nothing this check can look up"))
    return worst(answers)
