"""`python -m drills`: the same as the `drills` command."""

from drills.cli import main

main()
