"""The runbook coverage of one drill, as a section of an HTML page (the trend page shows it).

`drills runbook coverage` says in text which runbook steps each drill exercises and which none
does; a team reading a drill's trend page should see the same without running another command:
the steps this drill practises, and the steps no drill practises (the first to fail in an incident).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from drills.runbook.coverage import Coverage
from drills.runbook.steps import Step

__all__ = ["COVERAGE_CSS", "coverage_section"]

COVERAGE_CSS = """
section.coverage table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 18px; table-layout: fixed; }
section.coverage th.line { width: 48px; }
section.coverage th.where { width: 190px; }
section.coverage th { text-align: left; color: #868e96; font-weight: 600; }
section.coverage th, section.coverage td { padding: 3px 8px 3px 0; border-bottom: 1px solid #f1f3f5; vertical-align: top; }
section.coverage td.line { color: #868e96; width: 48px; text-align: right; padding-right: 12px; }
section.coverage code { font-size: 12px; overflow-wrap: anywhere; }
section.coverage .never { color: #c92a2a; }
"""


def _rows(steps: Sequence[Step]) -> str:
    if not steps:
        return '<tr><td class="line"></td><td colspan="2">none</td></tr>'
    return "\n".join(
        f'<tr><td class="line">{step.origin.line}</td><td><code>{escape(step.subject())}</code>'
        f"</td><td>{escape(step.origin.scenario or step.origin.section)}</td></tr>"
        for step in steps
    )


def _table(steps: Sequence[Step]) -> str:
    head = '<tr><th class="line">line</th><th>runbook step</th><th class="where">where</th></tr>'
    return f"<table>\n{head}\n{_rows(steps)}\n</table>"


def coverage_section(report: Coverage, scenario: str) -> str:
    """The section for the drill `scenario` (a catalog name) against `report`'s runbook."""
    mine = next((e for e in report.experiments if e.name == scenario), None)
    exercised = report.total - len(report.never)
    overall = (
        f"All drills together exercise {exercised} of {report.total} steps of"
        f" <code>{escape(report.runbook)}</code>."
    )
    if mine is None:
        drill = (
            f"{escape(scenario)} is not a drill of the catalog: which runbook steps it exercises"
            " is not known here."
        )
        steps = ""
    else:
        tags = ", ".join(mine.runbook_tags) or "no runbook tag"
        drill = (
            f"This drill ({escape(tags)}) exercises {len(mine.steps)} of {report.total}"
            " runbook steps:"
        )
        steps = _table(mine.steps)
    return f"""<section class="coverage">
<h2>Runbook coverage</h2>
<p>{drill}</p>
{steps}
<p>{overall}</p>
<h3 class="never">Never exercised by any drill ({len(report.never)})</h3>
{_table(report.never)}
</section>"""
