"""From a command's words to a typed step: `kubectl` verbs, `curl` calls, scripts, the unknown.

Each parser walks the words once, the way the tool itself reads its flags (values after the flag
or after `=`, combined short flags for curl), and keeps what a check needs: the objects, the
namespace and the selector of a kubectl verb; the method, URL and body of a curl call; a script's
path and arguments. A `sudo [OPTIONS]` prefix is read through to the command it runs. Anything
else is an `UnknownStep` that says why, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from drills.runbook.shell import CommandLine
from drills.runbook.steps import (
    HttpStep,
    KubectlStep,
    ObjectRef,
    ScriptStep,
    Step,
    StepOrigin,
    UnknownStep,
)

__all__ = ["KIND_ALIASES", "parse_selector", "to_step"]

KIND_ALIASES = {
    **dict.fromkeys(("po", "pod", "pods"), "pod"),
    **dict.fromkeys(("svc", "service", "services"), "service"),
    **dict.fromkeys(("deploy", "deployment", "deployments"), "deployment"),
    **dict.fromkeys(("sts", "statefulset", "statefulsets"), "statefulset"),
    **dict.fromkeys(("ds", "daemonset", "daemonsets"), "daemonset"),
    **dict.fromkeys(("ing", "ingress", "ingresses"), "ingress"),
    **dict.fromkeys(("no", "node", "nodes"), "node"),
    **dict.fromkeys(("ev", "event", "events"), "event"),
    **dict.fromkeys(("ns", "namespace", "namespaces"), "namespace"),
    **dict.fromkeys(("cm", "configmap", "configmaps"), "configmap"),
    **dict.fromkeys(("job", "jobs"), "job"),
    **dict.fromkeys(("secret", "secrets"), "secret"),
    **dict.fromkeys(
        ("hpa", "horizontalpodautoscaler", "horizontalpodautoscalers"), "horizontalpodautoscaler"
    ),
    **dict.fromkeys(("netpol", "networkpolicy", "networkpolicies"), "networkpolicy"),
    **dict.fromkeys(("pvc", "persistentvolumeclaim", "persistentvolumeclaims"), "pvc"),
}

# kubectl flags that take a value (as the next word or after `=`); `-f` is `--follow` for logs.
_KUBECTL_VALUED = frozenset(
    {"-n", "--namespace", "-l", "--selector", "-f", "--filename", "-p", "--patch", "-c",
     "--container", "--tail", "--replicas", "--sort-by", "-o", "--output", "--type",
     "--field-selector", "--timeout", "--context", "--since", "--cluster", "--kubeconfig"}
)  # fmt: skip
_KUBECTL_VERBS_WITH_SUBVERB = frozenset({"rollout", "set", "config", "auth", "top"})

_CURL_VALUED = frozenset(
    {"-X", "--request", "-H", "--header", "-d", "--data", "--data-raw", "--data-binary",
     "--data-urlencode", "--json", "-o", "--output", "-u", "--user", "-m", "--max-time",
     "--connect-timeout", "-w", "--write-out", "-A", "--user-agent", "--url", "-e", "--referer",
     "--retry", "-b", "--cookie", "-T", "--upload-file"}
)  # fmt: skip
_CURL_DATA = frozenset(
    {"-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--json"}
)
_CURL_SHORT_VALUED = frozenset(flag[1] for flag in _CURL_VALUED if len(flag) == 2)
_SUDO_VALUED = frozenset(
    {"-u", "--user", "-g", "--group", "-C", "--close-from", "-D", "--chdir", "-p", "--prompt",
     "-r", "--role", "-t", "--type", "-U", "--other-user", "-T", "--command-timeout", "-h",
     "--host", "-R", "--chroot"}
)  # fmt: skip


def parse_selector(text: str) -> tuple[tuple[str, str], ...] | None:
    """Equality terms of a label selector (`a=b,c==d`); None when it uses anything else."""
    terms: list[tuple[str, str]] = []
    for term in text.split(","):
        key, sep, value = term.partition("==") if "==" in term else term.partition("=")
        if not sep or not key.strip() or "!" in key or " " in key.strip():
            return None
        terms.append((key.strip(), value.strip()))
    return tuple(terms)


def _flags(words: Sequence[str], valued: frozenset[str]) -> Iterator[tuple[str | None, str]]:
    """(flag, value) for flags, (None, word) for positional words; `--` ends the flags."""
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            for rest in words[index + 1 :]:
                yield "--", rest
            return
        if word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            if eq:
                yield name, value
            elif name in valued and index + 1 < len(words):
                index += 1
                yield name, words[index]
            else:
                yield name, ""
        else:
            yield None, word
        index += 1


def _kubectl(cmd: CommandLine, origin: StepOrigin) -> Step:
    words = cmd.argv[1:]
    positional: list[str] = []
    namespace = selector_text = replicas = container = None
    files: list[str] = []
    exec_command: list[str] = []
    verb = next((w for w in words if not w.startswith("-")), "")
    valued = _KUBECTL_VALUED - {"-f"} if verb == "logs" else _KUBECTL_VALUED
    for flag, value in _flags(words, valued):
        if flag is None:
            positional.append(value)
        elif flag == "--":
            exec_command.append(value)
        elif flag in ("-n", "--namespace"):
            namespace = value
        elif flag in ("-l", "--selector"):
            selector_text = value
        elif flag == "--filename" or (flag == "-f" and verb != "logs"):
            files.append(value)
        elif flag == "--replicas":
            replicas = value
        elif flag in ("-c", "--container"):
            container = value
    if not positional:
        return UnknownStep(origin, cmd.text, cmd.argv, cmd.pipeline, reason="kubectl without verb")
    verb, rest = positional[0], positional[1:]
    subverb = None
    if verb in _KUBECTL_VERBS_WITH_SUBVERB and rest:
        subverb, rest = rest[0], rest[1:]
    objects = _objects(verb, rest)
    selector = parse_selector(selector_text) if selector_text else ()
    manifest = cmd.stdin if "-" in files else None
    return KubectlStep(
        origin,
        cmd.text,
        cmd.argv,
        cmd.pipeline,
        verb=verb,
        subverb=subverb,
        objects=objects,
        namespace=namespace,
        selector=selector or (),
        selector_text=selector_text,
        files=tuple(f for f in files if f != "-"),
        manifest=manifest,
        replicas=replicas,
        container=container,
        exec_command=tuple(exec_command),
    )


def _objects(verb: str, words: Sequence[str]) -> tuple[ObjectRef, ...]:
    """Objects named by the positional words after the verb, as kubectl reads them."""
    if not words:
        return ()
    if verb in ("exec", "logs", "attach", "port-forward", "cp") and "/" not in words[0]:
        return (ObjectRef("pod", words[0]),)
    if all("/" in word for word in words):
        refs = []
        for word in words:
            kind, _, name = word.partition("/")
            refs.append(ObjectRef(KIND_ALIASES.get(kind.lower(), kind.lower()), name or None))
        return tuple(refs)
    kinds = [KIND_ALIASES.get(k.lower(), k.lower()) for k in words[0].split(",")]
    names = words[1:]
    if not names:
        return tuple(ObjectRef(kind) for kind in kinds)
    return tuple(ObjectRef(kind, name) for kind in kinds for name in names)


def _curl(cmd: CommandLine, origin: StepOrigin) -> Step:
    method: str | None = None
    url: str | None = None
    body: str | None = None
    headers: list[tuple[str, str]] = []
    fail = head = get = False
    for flag, value in _flags(_expand_short(cmd.argv[1:]), _CURL_VALUED):
        if flag is None or flag == "--url":
            url = url or value
        elif flag in ("-X", "--request"):
            method = value.upper()
        elif flag in _CURL_DATA:
            body = value if body is None else f"{body}&{value}"
        elif flag in ("-H", "--header"):
            name, _, text = value.partition(":")
            headers.append((name.strip(), text.strip()))
        elif flag in ("-f", "--fail", "--fail-with-body"):
            fail = True
        elif flag in ("-I", "--head"):
            head = True
        elif flag in ("-G", "--get"):
            get = True
    if url is None:
        return UnknownStep(origin, cmd.text, cmd.argv, cmd.pipeline, reason="curl without a URL")
    if method is None:
        method = "HEAD" if head else "POST" if body is not None and not get else "GET"
    return HttpStep(
        origin,
        cmd.text,
        cmd.argv,
        cmd.pipeline,
        method=method,
        url=url,
        body=body,
        headers=tuple(headers),
        fail_on_error=fail,
    )


def _expand_short(words: Sequence[str]) -> list[str]:
    """curl's combined short flags (`-fsS`) as separate flags; `-XPOST` as `-X POST`."""
    out: list[str] = []
    value_next = False  # the word after a flag that takes a value is that value (`-d -00`)
    for word in words:
        if value_next:
            out.append(word)
            value_next = False
        elif word.startswith("-") and not word.startswith("--") and len(word) > 2:
            letters = word[1:]
            for index, letter in enumerate(letters):
                out.append(f"-{letter}")
                if letter in _CURL_SHORT_VALUED:
                    if letters[index + 1 :]:
                        out.append(letters[index + 1 :])
                    else:
                        value_next = True
                    break
        else:
            out.append(word)
            value_next = word in _CURL_VALUED
    return out


def _is_script(word: str) -> bool:
    return "/" in word or PurePosixPath(word).suffix in (".sh", ".py", ".bash")


def _without_sudo(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The command `sudo [OPTIONS]` runs (`sudo -u ops ./x.sh` → `./x.sh`); others unchanged."""
    if not argv or argv[0] != "sudo":
        return argv
    index = 1
    while index < len(argv) and argv[index].startswith("-"):
        if argv[index] == "--":
            index += 1
            break
        index += 2 if argv[index] in _SUDO_VALUED else 1
    return argv[index:] or argv


def to_step(cmd: CommandLine, origin: StepOrigin) -> Step:
    """The typed step for one command (an `UnknownStep`, with the reason, when not understood)."""
    if cmd.error is not None:
        return UnknownStep(origin, cmd.text, cmd.argv, reason=f"cannot split: {cmd.error}")
    cmd = replace(cmd, argv=_without_sudo(cmd.argv))  # `text` still says sudo, as written
    program = cmd.argv[0]
    name = PurePosixPath(program).name
    if name == "kubectl":
        return _kubectl(cmd, origin)
    if name == "curl":
        return _curl(cmd, origin)
    if name in ("bash", "sh") and len(cmd.argv) > 1 and _is_script(cmd.argv[1]):
        return ScriptStep(
            origin, cmd.text, cmd.argv, cmd.pipeline, path=cmd.argv[1], args=cmd.argv[2:]
        )
    if _is_script(program):
        return ScriptStep(origin, cmd.text, cmd.argv, cmd.pipeline, path=program, args=cmd.argv[1:])
    return UnknownStep(
        origin, cmd.text, cmd.argv, cmd.pipeline, reason=f"no parser for {name!r} commands"
    )
