"""Near-valid documents for fuzzing loaders: a real document with a few values changed or removed.

Purely random documents fail at the first missing key; crashes hide deeper, where a loader
trusts the shape of a value (`method: [5]`, `provider: []`). So the fuzz starts from the
documents we ship and changes one to three places in them: a value replaced by another of any
JSON type, a key deleted, a value wrapped in a list.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

Path_ = tuple[str | int, ...]

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
# What the attacks used: values of the wrong type, empty ones and near misses.
SEEDED_VALUES: list[Any] = [5, -1, 1.5, 10**400, "", "x", True, None, [], {}, [5], [1, 2], {"a": 5}]


def paths(document: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every place in `document` below its root."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(document, dict):
        items = list(document.items())
    elif isinstance(document, list):
        items = list(enumerate(document))
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def apply(document: Any, path: Path_, action: str, value: Any) -> None:
    """Change `document` in place at `path`: replace with `value`, delete, or wrap in a list."""
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "wrap":
        parent[last] = [parent[last]]
    else:
        parent[last] = value


@st.composite
def mutated(draw: st.DrawFn, bases: list[dict[str, Any]]) -> dict[str, Any]:
    document = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        places = list(paths(document))
        if not places:
            break
        path = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "replace", "delete", "wrap"]))
        apply(document, path, action, draw(JSON_VALUES) if action == "replace" else None)
    return document


def seeded_mutation(rng: random.Random, base: dict[str, Any]) -> dict[str, Any]:
    """The same kind of change, from a seeded generator (for a fixed corpus of documents)."""
    document = copy.deepcopy(base)
    for _ in range(rng.randint(1, 3)):
        places = list(paths(document))
        if not places:
            break
        action = rng.choice(["replace", "replace", "delete", "wrap"])
        apply(document, rng.choice(places), action, copy.deepcopy(rng.choice(SEEDED_VALUES)))
    return document
