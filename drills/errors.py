"""The one exception tree of drills.

Every error the engine raises on purpose derives from `DrillError`, so callers catch one root.
Only the CLI turns these into exit codes (see `ExitCode`); a missed objective is a verdict in the
result, never an exception.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes of the `drills` command."""

    MET = 0
    MISSED = 1
    USAGE = 2
    ABORTED = 3
    INTERNAL = 4  # an unexpected exception: a bug in drills or a library, never a verdict
    UNRECORDED = 5  # a verdict was reached (said on stderr) but the run folder could not be written


EXIT_CODES_HELP = (
    "Exit codes: 0 met, 1 missed (an objective was missed), 2 usage/input error (also a history "
    "that broke during the run: the run folder is kept, the verdict is on stderr), "
    "3 aborted, refused as unsafe, or invalid (the fault never caused a detectable failure), "
    "4 internal error (a traceback in a log file), 5 verdict reached but the run folder could not "
    "be written (the verdict is on stderr)."
)


class DrillError(Exception):
    """Root of every error drills raises on purpose."""

    exit_code: ExitCode = ExitCode.USAGE


class InputError(DrillError):
    """Bad input from the user: a malformed experiment, profile or argument."""


class UnknownScenarioError(InputError):
    """A scenario name that is neither in the catalog nor a readable experiment file."""


class ProfileError(InputError):
    """A target profile that cannot be read or does not describe a known target."""


class TargetError(DrillError):
    """The target could not do what was asked (start, kill, restore, answer)."""

    exit_code = ExitCode.ABORTED


class TargetUnreachableError(TargetError):
    """The target did not answer at all."""


class ServiceError(TargetError):
    """The control plane's HTTP API could not be used (see `drills.controlplane`)."""


class ServiceUnreachableError(ServiceError):
    """The control plane gave no HTTP answer: refused, reset, timed out, cut off. An outage.

    `reason` names the failure in one word (`ConnectionRefusedError`, `TimeoutError`...).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ServiceTlsError(ServiceError):
    """The control plane's certificate is not trusted, or it does not speak TLS where the URL says
    https: a configuration problem to fix in the profile, never an outage."""

    exit_code = ExitCode.USAGE


class ServiceAnswerError(ServiceError):
    """The control plane answered, but not as its API promises (not JSON, not the shape)."""


class SandboxError(TargetError):
    """The embedded sandbox could not be started, stopped or changed."""


class StateDirError(SandboxError):
    """A sandbox state directory that is corrupt, foreign, or held by another sandbox."""

    exit_code = ExitCode.USAGE


class ComponentError(SandboxError):
    """A sandbox component that failed to start, stop or become healthy."""


class MonitoringError(InputError):
    """A Prometheus or Alertmanager that does not answer at its URL, or refuses its config."""


class UnsafeTargetError(DrillError):
    """Refused as unsafe: a production-looking target, a held lock, a failing steady state."""

    exit_code = ExitCode.ABORTED


class TargetBusyError(UnsafeTargetError):
    """Another drill already holds this target's lock."""


class MeasurementError(DrillError):
    """The measurement machinery itself failed (not: a measurement came out badly)."""

    exit_code = ExitCode.ABORTED


class RunbookError(InputError):
    """A runbook that cannot be read: not UTF-8 Markdown, no scenarios, an unknown section."""


class TrainingCommandError(DrillError):
    """A runbook command the training shell cannot carry out on this target (said in one line;
    the training shell's command exits 1 as the real tool would)."""
