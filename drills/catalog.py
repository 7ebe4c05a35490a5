"""The scenario catalog: the experiment files shipped in `experiments/`, by name.

A scenario name is an experiment file's stem (`complete-outage` is
`experiments/complete-outage.yaml`); `drills run` also accepts a path to any experiment file.
A scenario's `cadence:<name>` tags are what its file declares; which drills a cadence runs is
decided by the cadence table in `drills.cadence` (a test keeps the two in agreement).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drills.cadence import cadence_named
from drills.errors import UnknownScenarioError
from drills.experiment import read_experiment

# Inside the package in the wheel; in the source tree drills/experiments links to ../experiments.
EXPERIMENTS_DIR = (Path(__file__).parent / "experiments").resolve()


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    path: Path
    cadence: tuple[str, ...]

    @property
    def key(self) -> str:
        """How the history knows this scenario: its name when it is in the catalog, else its
        experiment file's absolute path (so a team's own experiments gate too, and a copy of a
        catalog experiment is never mixed up with the original)."""
        if self.path.resolve().parent == EXPERIMENTS_DIR:
            return self.name
        return str(self.path.resolve())


def _scenario(path: Path) -> Scenario:
    data = read_experiment(path)
    tags = [str(t) for t in data.get("tags") or []]
    cadence = tuple(t.removeprefix("cadence:") for t in tags if t.startswith("cadence:"))
    description = " ".join(str(data.get("description", "")).split())
    return Scenario(path.stem, str(data.get("title", path.stem)), description, path, cadence)


def scenarios(directory: Path = EXPERIMENTS_DIR) -> list[Scenario]:
    return [_scenario(p) for p in sorted(directory.glob("*.yaml"))]


def installed() -> list[Scenario]:
    """Every scenario of the catalog; refuses an empty one (exit 2).

    An install that lost its experiment files would otherwise list nothing and report nothing
    due: a false green for `drills due --fail-if-overdue`."""
    found = scenarios(EXPERIMENTS_DIR)
    if not found:
        raise UnknownScenarioError(
            f"no scenarios: {EXPERIMENTS_DIR} holds no experiment files (a broken install?)"
        )
    return found


def resolve(name_or_path: str, directory: Path = EXPERIMENTS_DIR) -> Scenario:
    """A catalog name or a path to an experiment file; a clear error for anything else."""
    candidate = directory / f"{name_or_path}.yaml"
    if candidate.is_file():
        return _scenario(candidate)
    path = Path(name_or_path).expanduser()
    if path.suffix in (".yaml", ".yml", ".json"):
        if not path.is_file():
            raise UnknownScenarioError(f"experiment file {path} does not exist")
        return _scenario(path)
    known = ", ".join(s.name for s in scenarios(directory)) or "none"
    raise UnknownScenarioError(f"unknown scenario {name_or_path!r} (known: {known})")


def suite(cadence: str) -> list[Scenario]:
    """The drills of a cadence, as the cadence table (`drills.cadence`) lists them."""
    return [resolve(name) for name in cadence_named(cadence).drills]
