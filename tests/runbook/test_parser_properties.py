"""Property tests: commands rendered by a shell-quoting writer come back as the words written."""

from __future__ import annotations

import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from drills.runbook.commands import to_step
from drills.runbook.shell import split_block
from drills.runbook.steps import HttpStep, KubectlStep, ObjectRef, StepOrigin

ORIGIN = StepOrigin(line=1, section="test")
# Words as runbooks hold them: anything printable, including quotes, pipes and `#`.
WORDS = st.text(
    st.characters(min_codepoint=33, max_codepoint=126) | st.sampled_from(" é"),
    min_size=1,
    max_size=12,
)
NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,14}[a-z0-9]", fullmatch=True)
KINDS = st.sampled_from(["deployment", "statefulset", "pod", "service"])


@settings(derandomize=True, max_examples=300)  # the same examples every run: CI never flakes
@given(st.lists(WORDS, min_size=1, max_size=6), st.booleans(), st.booleans())
def test_words_survive_quoting_comments_and_continuations(
    words: list[str], comment: bool, continued: bool
) -> None:
    program = "tool"
    line = shlex.join([program, *words])
    if continued:
        line = " \\\n  ".join([program, *[shlex.quote(w) for w in words]])
    text = ("# a note\n" if comment else "") + line + "\n"
    commands = split_block(text)
    assert len(commands) == 1
    assert commands[0].argv == (program, *words)
    assert commands[0].note == ("a note" if comment else None)


@settings(derandomize=True, max_examples=300)  # the same examples every run: CI never flakes
@given(KINDS, NAMES, NAMES, st.dictionaries(NAMES, NAMES, min_size=1, max_size=3), st.booleans())
def test_kubectl_objects_namespace_and_selector(
    kind: str, name: str, namespace: str, labels: dict[str, str], slash: bool
) -> None:
    selector = ",".join(f"{k}={v}" for k, v in labels.items())
    target = [f"{kind}/{name}"] if slash else [kind, name]
    argv = ["kubectl", "get", *target, "-n", namespace, "-l", selector]
    (command,) = split_block(shlex.join(argv))
    step = to_step(command, ORIGIN)
    assert isinstance(step, KubectlStep)
    assert step.objects == (ObjectRef(kind, name),)
    assert step.namespace == namespace
    assert dict(step.selector) == labels
    assert not step.mutating


@settings(derandomize=True, max_examples=300)  # the same examples every run: CI never flakes
@given(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", None]),
    st.from_regex(r"https://[a-z]{1,10}\.example/[a-z/]{0,20}", fullmatch=True),
    st.none() | st.text(min_size=1, max_size=30),
)
def test_curl_method_url_and_body(method: str | None, url: str, body: str | None) -> None:
    argv = ["curl", "-fsS"]
    if method:
        argv += ["-X", method]
    argv.append(url)
    if body is not None:
        argv += ["-d", body]
    (command,) = split_block(shlex.join(argv) + " | jq .")
    step = to_step(command, ORIGIN)
    assert isinstance(step, HttpStep)
    assert step.url == url and step.body == body and step.fail_on_error
    assert step.method == (method or ("POST" if body is not None else "GET"))
    assert step.pipeline == (("jq", "."),)


@settings(derandomize=True, max_examples=300)  # the same examples every run: CI never flakes
@given(st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=126)), max_size=6))
def test_heredoc_bodies_are_the_command_input(lines: list[str]) -> None:
    body = [line for line in lines if line.strip() != "EOF"]
    text = "kubectl apply -f - <<EOF\n" + "\n".join(body) + "\nEOF\nkubectl get pods\n"
    commands = split_block(text)
    assert [c.argv for c in commands] == [
        ("kubectl", "apply", "-f", "-"),
        ("kubectl", "get", "pods"),
    ]
    assert commands[0].stdin == "\n".join(body) + "\n"


def test_a_quoted_operator_is_a_word_not_a_pipe() -> None:
    # found by the property above: `'|'` was read as a pipe once its quotes were removed
    (command,) = split_block("grep -v '|' log | wc -l\n")
    assert command.argv == ("grep", "-v", "|", "log")
    assert command.pipeline == (("wc", "-l"),)


def test_a_curl_value_that_looks_like_flags_is_a_value() -> None:
    # found by the property above: `-d -00` lost a character to short-flag expansion
    (command,) = split_block("curl -fsS https://a.example/ -d -00\n")
    step = to_step(command, ORIGIN)
    assert isinstance(step, HttpStep) and step.body == "-00" and step.fail_on_error
