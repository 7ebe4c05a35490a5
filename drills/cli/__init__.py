"""The `drills` command line."""

from drills.cli.main import cli, main

__all__ = ["cli", "main"]
