"""Markdown → `Runbook`: headings become scenarios and phases, shell blocks become typed steps.

The document is parsed by markdown-it-py (CommonMark), so fences inside list items, indented
content and inline code are read as a Markdown renderer reads them. Scenarios are headings whose
first word is "Scenario"; the headings below one are its phases (Detection, Immediate Actions,
Recovery Actions, Verification; any other heading is a phase of kind "other", and so are commands
before the first phase heading). Only fences tagged as shell (bash, sh, shell, console, zsh) hold
commands; untagged fences (message templates) are counted, not parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from drills.errors import RunbookError
from drills.runbook import facts as fact_reader
from drills.runbook.commands import to_step
from drills.runbook.model import Fact, Phase, PhaseKind, Runbook, Scenario
from drills.runbook.shell import split_block
from drills.runbook.steps import Step, StepOrigin

__all__ = ["read_runbook", "read_runbook_text"]

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "zsh", "shell-session"})
_PHASE_WORDS = {
    "detection": PhaseKind.DETECTION,
    "immediate": PhaseKind.IMMEDIATE,
    "recovery": PhaseKind.RECOVERY,
    "verification": PhaseKind.VERIFICATION,
}
# Block structure only: inline markup is parsed on demand, for the few paragraphs that need it
# (headings and `**Label**: value` facts), which halves the reader's time.
_PARSER = MarkdownIt("commonmark").disable("inline")
_INLINE = MarkdownIt("commonmark")


@dataclass
class _PhaseDraft:
    kind: PhaseKind
    title: str
    line: int
    bullets: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


@dataclass
class _ScenarioDraft:
    key: str
    title: str
    line: int
    level: int
    phases: list[_PhaseDraft] = field(default_factory=list)


def _children(token: Token) -> list[Token]:
    """The inline tokens of a block's inline content (parsed here, on demand)."""
    parsed = _INLINE.parseInline(token.content)
    return [c for c in parsed[0].children or () if c.type != "text" or c.content] if parsed else []


def _plain(token: Token) -> str:
    """An inline token's text, markup removed, inline code kept as its text."""
    if not any(mark in token.content for mark in "*_`[\\&<"):
        return token.content.strip()
    return "".join(child.content for child in _children(token) if child.content).strip()


def _fact(token: Token, section: str) -> Fact | None:
    """A `**Label**: value` paragraph as a fact, else None."""
    if not token.content.startswith(("**", "__")):
        return None
    children = _children(token)
    if len(children) < 3 or children[0].type != "strong_open":
        return None
    close = next((i for i, c in enumerate(children) if c.type == "strong_close"), None)
    if close is None:
        return None
    label = "".join(c.content for c in children[1:close]).strip()
    rest = "".join(c.content for c in children[close + 1 :]).strip()
    if not rest.startswith(":"):
        return None
    line = (token.map or [0])[0] + 1
    return Fact(section, label, rest[1:].strip(), line)


def _phase_kind(title: str) -> PhaseKind:
    first = title.split()[0].lower().strip(":") if title.split() else ""
    return _PHASE_WORDS.get(first, PhaseKind.OTHER)


_DASHES = ":.-\u2013\u2014)"  # what separates a scenario's number from its title


def _scenario_heading(text: str) -> tuple[str, str] | None:
    """("Scenario 2", "Database Connection Issues") for a scenario heading ("Scenario 2: ...",
    "🔥 Scenario 2 — ...", "Scenario 2. ..."), else None ("Scenarios" is not one)."""
    words = text.split()
    while words and not any(c.isalnum() for c in words[0]):
        words = words[1:]  # an emoji or a bullet before the word
    if not words or words[0].lower().rstrip(":") != "scenario":
        return None
    if len(words) > 1 and any(c.isdigit() for c in words[1]):
        key = f"{words[0]} {words[1].strip(_DASHES)}"
        title = " ".join(words[2:]).lstrip(_DASHES).strip()
        return key, title or key
    title = " ".join(words[1:]).lstrip(_DASHES).strip()
    return words[0].rstrip(":"), title or words[0].rstrip(":")


def read_runbook_text(text: str, path: Path | None = None) -> Runbook:
    """Parse runbook Markdown (see the module docstring); RunbookError when it holds none."""
    if "\x00" in text:
        raise RunbookError(f"{path or 'runbook'}: binary data, not a Markdown runbook")
    tokens = _PARSER.parse(text)
    title = ""
    section = ""
    scenarios: list[_ScenarioDraft] = []
    scenario: _ScenarioDraft | None = None
    phase: _PhaseDraft | None = None
    steps: list[Step] = []
    facts: list[Fact] = []
    item: str | None = None
    item_depth = 0
    text_blocks = 0
    headings = 0
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            headings += 1
            level = int(token.tag[1:])
            heading = _plain(tokens[index + 1])
            line = (token.map or [0])[0] + 1
            section, item = heading, None
            if level == 1 and not title:
                title = heading
            if scenario is not None and level <= scenario.level:
                scenario, phase = None, None
            found = _scenario_heading(heading)
            if found is not None:
                scenario = _ScenarioDraft(found[0], found[1], line, level)
                scenarios.append(scenario)
                phase = None
            elif scenario is not None:
                phase = _PhaseDraft(_phase_kind(heading), heading, line)
                scenario.phases.append(phase)
        elif token.type == "ordered_list_open":
            item_depth += 1
        elif token.type == "ordered_list_close":
            item_depth -= 1
            item = None if item_depth == 0 else item
        elif token.type == "inline" and tokens[index - 1].type == "paragraph_open":
            fact = _fact(token, section)
            if fact is not None:
                facts.append(fact)
            in_item = index >= 2 and tokens[index - 2].type == "list_item_open"
            if item_depth and in_item:
                item = _plain(token).strip("*").strip()
            if phase is not None and in_item:
                phase.bullets.append(_plain(token))
        elif token.type == "fence":
            language = token.info.strip().split()[0].lower() if token.info.strip() else ""
            if language not in SHELL_LANGUAGES:
                text_blocks += 1
                continue
            first_line = (token.map or [0])[0] + 2  # 1-based line of the block's first line
            if scenario is not None and phase is None:  # commands before any phase heading
                phase = _PhaseDraft(PhaseKind.OTHER, scenario.title, (token.map or [0])[0] + 1)
                scenario.phases.append(phase)
            for command in split_block(token.content):
                origin = StepOrigin(
                    line=first_line + command.line,
                    section=section,
                    scenario=None if scenario is None else scenario.key,
                    phase=None if phase is None else phase.kind.value,
                    item=item,
                    note=command.note,
                )
                step = to_step(command, origin)
                steps.append(step)
                if phase is not None:
                    phase.steps.append(step)
    where = str(path) if path else "runbook"
    if headings == 0:
        raise RunbookError(f"{where}: no Markdown headings, not a runbook")
    if not scenarios:
        raise RunbookError(f"{where}: no scenarios (no heading starts with 'Scenario')")
    return Runbook(
        path=path,
        title=title,
        scenarios=tuple(
            Scenario(
                s.key,
                s.title,
                s.line,
                tuple(
                    Phase(p.kind, p.title, p.line, tuple(p.bullets), tuple(p.steps))
                    for p in s.phases
                ),
            )
            for s in scenarios
        ),
        steps=tuple(steps),
        objectives=fact_reader.objectives(facts),
        cadence=fact_reader.cadence_entries(facts),
        facts=tuple(facts),
        text_blocks=text_blocks,
        environment=fact_reader.environment(facts),
    )


def read_runbook(path: Path | str) -> Runbook:
    """Read and parse a runbook file; every problem is one `RunbookError` line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RunbookError(f"{path}: cannot read the runbook ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RunbookError(f"{path}: not UTF-8 text (byte {exc.start}), not a runbook") from None
    return read_runbook_text(text, path)
