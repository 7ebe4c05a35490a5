"""Running an experiment exactly the way `chaos run` does, with drills' one safety default.

Teams bring Chaos Toolkit experiments they already run with `chaos run`; a drill of the same file
with the same flags must run the same activities in the same order. So this module mirrors the
`chaos run` command: the user's Chaos Toolkit settings file (global controls, notifications), the
runtime strategies (settings, then the experiment's `runtime` block, then the command line, each
overriding the one before), `--var`/`--var-file`, the hypothesis schedule, and the run-flow
notifications. The one difference is drills' default rollback strategy: `always` rather than
Chaos Toolkit's `default` (which skips rollbacks when the steady state deviates or the run is
interrupted), because a drill must never leave a staging system broken; an experiment's own
`runtime.rollbacks.strategy` or `--rollback-strategy` still wins.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.errors import InputError

__all__ = [
    "DRILLS_ROLLBACK_STRATEGY",
    "HYPOTHESIS_STRATEGIES",
    "ROLLBACK_STRATEGIES",
    "ChaosOptions",
    "chaostoolkit_log",
    "check_chaos_options",
    "run_like_chaos",
]

MAX_HYPOTHESIS_FREQUENCY_SECONDS = 3600.0
HYPOTHESIS_STRATEGIES = (
    "default",
    "before-method-only",
    "after-method-only",
    "during-method-only",
    "continuously",
)
ROLLBACK_STRATEGIES = ("default", "always", "never", "deviated")
DRILLS_ROLLBACK_STRATEGY = "always"
CHAOS_HYPOTHESIS_DEFAULT = "default"


@dataclass(frozen=True)
class ChaosOptions:
    """The `chaos run` flags a drill accepts, with the same meaning."""

    hypothesis_strategy: str | None = None
    hypothesis_frequency: float = 1.0
    fail_fast: bool = False
    rollback_strategy: str | None = None
    variables: Sequence[str] = ()  # --var key[:type]=value
    var_files: Sequence[Path] = ()
    settings_path: Path | None = None  # default: Chaos Toolkit's own (~/.chaostoolkit/...)


def runtime_strategies(
    settings: dict[str, Any], experiment: dict[str, Any], options: ChaosOptions
) -> tuple[str, str]:
    """(hypothesis strategy, rollback strategy) as `chaos run` decides them, and records them in
    `settings["runtime"]` for chaoslib."""
    runtime = settings.setdefault("runtime", {})
    runtime.setdefault("rollbacks", {}).setdefault("strategy", DRILLS_ROLLBACK_STRATEGY)
    runtime.setdefault("hypothesis", {}).setdefault("strategy", CHAOS_HYPOTHESIS_DEFAULT)
    declared = experiment.get("runtime")
    if isinstance(declared, dict) and declared:
        rollbacks = declared.get("rollbacks")
        hypothesis = declared.get("hypothesis")
        runtime["rollbacks"]["strategy"] = (rollbacks if isinstance(rollbacks, dict) else {}).get(
            "strategy", DRILLS_ROLLBACK_STRATEGY
        )
        runtime["hypothesis"]["strategy"] = (
            hypothesis if isinstance(hypothesis, dict) else {}
        ).get("strategy", CHAOS_HYPOTHESIS_DEFAULT)
    if options.hypothesis_strategy is not None:
        runtime["hypothesis"]["strategy"] = options.hypothesis_strategy
    if options.rollback_strategy is not None:
        runtime["rollbacks"]["strategy"] = options.rollback_strategy
    hypothesis = str(runtime["hypothesis"]["strategy"])
    if hypothesis == "continously":  # chaos run's old spelling, still accepted there
        hypothesis = "continuously"
    rollback = str(runtime["rollbacks"]["strategy"])
    if hypothesis not in HYPOTHESIS_STRATEGIES:
        raise InputError(f"unknown hypothesis strategy {hypothesis!r}")
    if rollback not in ROLLBACK_STRATEGIES:
        raise InputError(f"unknown rollback strategy {rollback!r}")
    return hypothesis, rollback


def experiment_vars(
    options: ChaosOptions, configuration: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(configuration, secrets) from `--var`/`--var-file`, with drills' own configuration."""
    from chaoslib import convert_vars, merge_vars

    for path in options.var_files:
        if not path.is_file():  # chaoslib would log it and go on without the file's values
            raise InputError(f"--var-file {path} is not a file")
    try:
        variables = convert_vars(list(options.variables))
        config, secrets = merge_vars(variables, [str(p) for p in options.var_files])
    except (ValueError, OSError) as exc:
        raise InputError(f"--var/--var-file: {' '.join(str(exc).split())}") from exc
    except (AttributeError, TypeError) as exc:  # a var file that is not a mapping
        raise InputError(
            "--var-file: a var file must be a mapping of configuration and secrets "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return {**config, **configuration}, dict(secrets)


def check_chaos_options(experiment: dict[str, Any], options: ChaosOptions) -> None:
    """Read every `chaos run` flag now, so a bad one is an input error before anything starts
    (`run_like_chaos` reads them again, once the target is up)."""
    frequency = options.hypothesis_frequency
    if not (math.isfinite(frequency) and 0 < frequency <= MAX_HYPOTHESIS_FREQUENCY_SECONDS):
        raise InputError(
            f"--hypothesis-frequency {frequency}: must be a number of seconds above 0 and at "
            f"most {MAX_HYPOTHESIS_FREQUENCY_SECONDS:g}"
        )
    settings = load_chaos_settings(options.settings_path)
    experiment_vars(options, {})
    runtime_strategies(settings, experiment, options)


def load_chaos_settings(path: Path | None) -> dict[str, Any]:
    """The user's Chaos Toolkit settings (controls, notifications), as `chaos run` reads them."""
    from chaoslib.settings import CHAOSTOOLKIT_CONFIG_PATH, load_settings

    where = str(path) if path is not None else CHAOSTOOLKIT_CONFIG_PATH
    if path is not None and not path.is_file():
        raise InputError(f"Chaos Toolkit settings file {path} does not exist")
    try:
        settings = load_settings(where)
    except Exception as exc:  # chaoslib raises whatever its YAML reader raises
        raise InputError(f"Chaos Toolkit settings {where} cannot be read: {exc}") from exc
    return dict(settings or {})


def run_like_chaos(
    experiment: dict[str, Any], options: ChaosOptions, configuration: dict[str, Any]
) -> dict[str, Any]:
    """Run `experiment` as `chaos run` would with these flags; returns the journal."""
    from chaoslib.control import cleanup_global_controls, load_global_controls
    from chaoslib.experiment import run_experiment
    from chaoslib.notification import RunFlowEvent, notify
    from chaoslib.types import Schedule, Strategy

    settings = load_chaos_settings(options.settings_path)
    variables = experiment_vars(options, configuration)
    hypothesis, _ = runtime_strategies(settings, experiment, options)
    load_global_controls(settings)
    try:
        notify(settings, RunFlowEvent.RunStarted, experiment)
        journal: dict[str, Any] = run_experiment(
            experiment,
            settings=settings,
            strategy=Strategy.from_string(hypothesis),
            schedule=Schedule(
                continuous_hypothesis_frequency=options.hypothesis_frequency,
                fail_fast=options.fail_fast,
            ),
            experiment_vars=variables,
        )
        if journal.get("status") == "completed":
            notify(settings, RunFlowEvent.RunCompleted, journal)
        else:
            notify(settings, RunFlowEvent.RunFailed, journal)
        if journal.get("deviated"):
            notify(settings, RunFlowEvent.RunDeviated, journal)
    finally:
        cleanup_global_controls()
    return journal


class _RunFolderLogHandler(logging.FileHandler):
    """A log file in the run folder that a full disk cannot turn into a crash: a line it cannot
    write is lost (the run folder's trouble is said with the verdict), never raised."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the last flush into a full disk
            super().close()


@contextlib.contextmanager
def chaostoolkit_log(run_dir: Path) -> Iterator[None]:
    """Chaos Toolkit's own log goes to the run folder (where `chaos run` writes it to the working
    folder), not over the progress display."""
    logger = logging.getLogger("chaostoolkit")
    handler = _RunFolderLogHandler(run_dir / "chaostoolkit.log", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
