"""`drills sandbox up|down|status|restart|logs`: the embedded system to drill against."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from drills.errors import InputError, TargetBusyError
from drills.settings import Settings
from drills.targets.base import Component
from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import check_state_dir_path, drill_lock
from drills.targets.sandbox.warden import sweep_orphans

COMPONENTS = [c.value for c in Component]
MAX_REPLICAS = 16  # each replica is a Python process; more than this only starves the machine
COMPONENTS_HELP = f"COMPONENT is one of: {', '.join(COMPONENTS)}."

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Sandbox state directory (default: $DRILLS_SANDBOX_DIR or the user's data dir).",
)


def _sandbox(state_dir: Path | None, progress: bool = False) -> Sandbox:
    directory = state_dir or Settings.from_environ().sandbox_dir
    check_state_dir_path(directory.expanduser().absolute())
    err = Console(stderr=True)
    return Sandbox(
        directory, progress=(lambda line: err.print(f"  {line}")) if progress else (lambda _: None)
    )


def _component(name: str) -> Component:
    try:
        return Component(name)
    except ValueError:
        raise InputError(f"unknown component {name!r} (known: {', '.join(COMPONENTS)})") from None


@click.group()
def sandbox() -> None:
    """Manage the embedded sandbox (PostgreSQL primary + standby, Redis, control plane)."""
    for orphan in sweep_orphans():
        Console(stderr=True).print(
            f"removed a fresh sandbox whose harness had died: {orphan}", highlight=False
        )


@sandbox.command()
@state_dir_option
@click.option(
    "--replicas",
    type=click.IntRange(1, MAX_REPLICAS),
    default=2,
    show_default=True,
    help="Control-plane replicas.",
)
def up(state_dir: Path | None, replicas: int) -> None:
    """Start every component and wait until all are healthy (idempotent)."""
    box = _sandbox(state_dir, progress=True)
    box.default_replicas = replicas
    started = time.monotonic()
    box.up()
    Console(stderr=True).print(
        f"sandbox up in {time.monotonic() - started:.1f} s: {box.layout.root}"
    )
    _print_status(box.status())


force_option = click.option(
    "--force",
    is_flag=True,
    help="Even while a drill runs on this sandbox (that drill's result is then worthless).",
)


@contextlib.contextmanager
def _no_drill_running(box: Sandbox, command: str, force: bool) -> Iterator[None]:
    """Hold the sandbox's drill lock for the command, so no drill runs under its feet; refused
    (exit 3, refused as unsafe) while a drill holds it, unless --force."""
    with contextlib.ExitStack() as held:
        if not force and box.layout.root.is_dir():
            try:
                held.enter_context(drill_lock(box.layout, f"`drills sandbox {command}`"))
            except TargetBusyError as exc:
                raise TargetBusyError(
                    f"{exc}; refused: `drills sandbox {command}` would break it "
                    "(wait until it ends, or add --force)"
                ) from exc
        yield


@sandbox.command()
@state_dir_option
@click.option("--purge", is_flag=True, help="Also delete the state directory and its data.")
@force_option
def down(state_dir: Path | None, purge: bool, force: bool) -> None:
    """Stop everything the sandbox started (also after a crashed `up`)."""
    box = _sandbox(state_dir)
    with _no_drill_running(box, "down", force):
        box.down(purge=purge)


@sandbox.command()
@state_dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(state_dir: Path | None, as_json: bool) -> None:
    """Show each component's state, pids and address."""
    info = _sandbox(state_dir).status()
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        _print_status(info)


@sandbox.command(epilog=COMPONENTS_HELP)
@click.argument("component")
@state_dir_option
@force_option
def restart(component: str, state_dir: Path | None, force: bool) -> None:
    """Bring COMPONENT back (after a kill -9 too), data intact."""
    which = _component(component)
    box = _sandbox(state_dir, progress=True)
    with _no_drill_running(box, "restart", force):
        box.restart(which)


@sandbox.command(epilog=COMPONENTS_HELP)
@click.argument("component")
@state_dir_option
@click.option("--lines", "-n", type=click.IntRange(1, 100_000), default=100, show_default=True)
def logs(component: str, state_dir: Path | None, lines: int) -> None:
    """Print the tail of COMPONENT's log."""
    click.echo(_sandbox(state_dir).logs(_component(component), lines))


def _print_status(info: dict[str, object]) -> None:
    console = Console()
    components = info.get("components") or {}
    if not components:
        console.print(f"no sandbox in {info.get('state_dir')}")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("component", "state", "pids", "address"):
        table.add_column(column)
    assert isinstance(components, dict)
    for name, comp in components.items():
        style = {"running": "green", "degraded": "yellow"}.get(comp["state"], "red")
        pids = ",".join(str(p) for p in comp["pids"]) or "-"
        table.add_row(name, f"[{style}]{comp['state']}[/]", pids, comp["address"])
    console.print(table)
    control_plane = info.get("control_plane")
    if isinstance(control_plane, dict):
        console.print(f"control plane: {control_plane['url']}")
