"""Faults and recovery steps for Chaos Toolkit experiments (`type: python`, `module: drills.actions.<name>`).

Each adapts its arguments and asks the target driver; none knows which platform it runs on. The
folder sits at the top of the source tree and installs as `drills.actions` (the link `drills/actions`),
so nothing generic lands in site-packages and a team's own `actions.py` shadows nothing of ours.
"""
