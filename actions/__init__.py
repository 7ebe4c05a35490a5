"""Faults and recovery steps for Chaos Toolkit experiments (`type: python`, `module: actions.<name>`).

Each adapts its arguments and asks the target driver; none knows which platform it runs on.
"""
