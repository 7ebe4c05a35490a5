"""`drills sandbox up|down|status|restart|logs`: the embedded system to drill against."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from drills.errors import InputError
from drills.settings import Settings
from drills.targets.base import Component
from drills.targets.sandbox.stack import Sandbox

COMPONENTS = [c.value for c in Component]
MAX_REPLICAS = 16  # each replica is a Python process; more than this only starves the machine

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Sandbox state directory (default: $DRILLS_SANDBOX_DIR or the user's data dir).",
)


def _sandbox(state_dir: Path | None, progress: bool = False) -> Sandbox:
    directory = state_dir or Settings.from_environ().sandbox_dir
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


@sandbox.command()
@state_dir_option
@click.option("--purge", is_flag=True, help="Also delete the state directory and its data.")
def down(state_dir: Path | None, purge: bool) -> None:
    """Stop everything the sandbox started (also after a crashed `up`)."""
    _sandbox(state_dir).down(purge=purge)


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


@sandbox.command()
@click.argument("component")
@state_dir_option
def restart(component: str, state_dir: Path | None) -> None:
    """Bring COMPONENT back (after a kill -9 too), data intact."""
    _sandbox(state_dir, progress=True).restart(_component(component))


@sandbox.command()
@click.argument("component")
@state_dir_option
@click.option("--lines", "-n", default=100, show_default=True)
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
