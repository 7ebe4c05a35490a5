"""Read-only checks for Chaos Toolkit experiments (`type: python`, `module: drills.probes.<name>`).

They never change the target. HTTP checks talk to the control plane the target names; everything
platform-specific is asked of the target driver. Installed as `drills.probes` (the link
`drills/probes`): a team's own `probes.py` beside its experiments shadows nothing of ours.
"""
