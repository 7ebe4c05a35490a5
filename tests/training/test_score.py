"""The scorecard's matching of commands to runbook steps, and its order judgement."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drills.runbook import read_runbook
from drills.training.exercise import EventKind, TraineeEvent, now_utc
from drills.training.hints import next_step
from drills.training.scenarios import DEFAULT_RUNBOOK
from drills.training.score import _in_order, command_step, sandbox_applicable, step_key


def event(text: str) -> TraineeEvent:
    return TraineeEvent(EventKind.COMMAND, now_utc(), text, argv=tuple(text.split()))


def test_the_runbooks_namespace_may_be_left_out_but_another_may_not() -> None:
    with_ns = step_key(command_step(event("kubectl get pods -l app=redis -n intelgraph-prod")))
    without = step_key(command_step(event("kubectl get pods -l app=redis")))
    assert with_ns == without
    mine = step_key(command_step(event("kubectl get pods -n intelgraph-prod")))
    ingress = step_key(command_step(event("kubectl get pods -n ingress-nginx")))
    assert mine != ingress


def test_curl_matches_by_method_and_path() -> None:
    a = step_key(command_step(event("curl -f https://maestro.intelgraph.ai/health")))
    b = step_key(command_step(event("curl https://maestro.intelgraph.ai/health/")))
    c = step_key(command_step(event("curl -X POST https://maestro.intelgraph.ai/health")))
    assert a == b != c


def test_in_order_keeps_the_longest_run_in_runbook_order() -> None:
    # one late step taken first does not make every later step "out of order"
    assert _in_order([9, 1, 2, 3]) == {9: False, 1: True, 2: True, 3: True}
    assert _in_order([1, 2, 3]) == {1: True, 2: True, 3: True}
    assert _in_order([]) == {}


@given(st.lists(st.integers(0, 30), unique=True, max_size=12))
def test_in_order_steps_are_increasing(order: list[int]) -> None:
    judged = _in_order(order)
    kept = [i for i in order if judged[i]]
    assert kept == sorted(kept)
    assert len(kept) >= (1 if order else 0)


def test_hints_walk_the_runbook_section_skipping_what_was_done() -> None:
    section = read_runbook(DEFAULT_RUNBOOK).scenario("Scenario 1")
    first = next_step(section, [], sandbox_applicable)
    assert first is not None and first.text == "kubectl get pods -n intelgraph-prod"
    second = next_step(section, [event(first.text)], sandbox_applicable)
    assert second is not None and second.text == "kubectl get services -n intelgraph-prod"
    every = [event(s.text) for s in section.steps]
    assert next_step(section, every, sandbox_applicable) is None
    taken: list[TraineeEvent] = []
    while (hint := next_step(section, taken, sandbox_applicable)) is not None:
        assert "ingress-nginx-controller" not in hint.text  # the sandbox has none
        taken.append(event(hint.text))
    assert len(taken) == sum(sandbox_applicable(s) for s in section.steps)
