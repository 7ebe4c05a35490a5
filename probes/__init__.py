"""Read-only checks for Chaos Toolkit experiments (`type: python`, `module: probes.<name>`).

They never change the target. HTTP checks talk to the control plane the target names; everything
platform-specific is asked of the target driver.
"""
