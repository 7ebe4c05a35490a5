"""SRE game days: a scenario's fault without its recovery, a person with the runbook, a score.

`game` runs an exercise (`drills train start`), `shell` and `shim` make the runbook's commands act
on the target, `score` and `drills.reports.scorecard` judge and render what the trainee achieved.
"""
