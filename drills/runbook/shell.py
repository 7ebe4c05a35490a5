"""From the text of a shell block to its command lines, the way a shell would split them.

A block is read line by line: `\\` continuations are joined, `#` comments become the note of the
next command, a here-document (`<<EOF` … `EOF`) becomes the command's input, and each line is
tokenized by `shlex` into commands separated by `;`, `&&`, `||`, with `|` pipelines kept as the
command's downstream filters and redirections (`> out.txt`, `2>&1`) left out of the words. A
`<name>` is read as runbooks mean it, a placeholder word, not as two redirections. A line `shlex` cannot tokenize (an unclosed quote) is still
returned, with the reason, so that nothing in a runbook is silently dropped.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

__all__ = ["CommandLine", "split_block"]

_SEPARATORS = frozenset({";", "&&", "||", "&"})
_PIPE = "|"
_HEREDOC = frozenset({"<<", "<<-"})
_REDIRECTIONS = frozenset({">", ">>", "<", ">&", "&>", "&>>", "<&", ">|", "<>"})
_OPERATORS = _SEPARATORS | _HEREDOC | _REDIRECTIONS | {_PIPE}
_PLACEHOLDER_CHARS = frozenset("_-.")
# A placeholder's brackets while shlex reads the line (word characters to it), then put back.
_OPEN, _CLOSE = "\ue000", "\ue001"
_BRACKETS = str.maketrans({_OPEN: "<", _CLOSE: ">"})


@dataclass(frozen=True)
class CommandLine:
    """One command of a block: its words, pipeline, here-document and whereabouts."""

    line: int  # offset of its first line within the block (0-based)
    text: str  # continuation lines joined, here-document body left out
    argv: tuple[str, ...]
    pipeline: tuple[tuple[str, ...], ...] = ()
    stdin: str | None = None  # here-document body
    note: str | None = None  # comment line(s) just above it
    error: str | None = None  # why it could not be tokenized


class _Operator(str):
    """A token the shell reads as an operator (`;`, `|`, `<<`...), not a word that only looks
    like one because it was quoted (`'|'` is an argument)."""

    __slots__ = ()


def _placeholder_end(text: str, start: int) -> int | None:
    """The index after `<name>` starting at `start`, when it is a placeholder, else None."""
    end = start + 1
    while end < len(text) and (text[end].isalnum() or text[end] in _PLACEHOLDER_CHARS):
        end += 1
    return end + 1 if end > start + 1 and end < len(text) and text[end] == ">" else None


def _prepared(text: str) -> str:
    """`text` with what a runbook means, where a shell would read something else: a `<name>`
    placeholder is part of a word, not two redirections (its brackets are stood in for until the
    words are split); `2>` is just `>` (a redirection's file descriptor is not an argument).
    Quoted text is left as written."""
    out: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote is not None or char in "'\"":
            quote = None if char == quote else (quote or char)
            out.append(char)
        elif char == "\\":
            out.append(text[index : index + 2])
            index += 1
        elif char == "<" and (end := _placeholder_end(text, index)) is not None:
            out.append(f"{_OPEN}{text[index + 1 : end - 1]}{_CLOSE}")
            index = end - 1
        elif char.isdigit() and (index == 0 or text[index - 1].isspace()):
            end = index
            while end < len(text) and text[end].isdigit():
                end += 1
            if end < len(text) and text[end] in "<>":
                index = end - 1  # drop the descriptor
            else:
                out.append(text[index:end])
                index = end - 1
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _lex(text: str, *, posix: bool) -> list[str]:
    lexer = shlex.shlex(text, posix=posix, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _tokens(text: str) -> list[str]:
    """The words of `text` with quotes removed; unquoted operators as `_Operator`. The
    non-POSIX pass keeps the quotes, so it tells `'|'` (a word) from `|` (a pipe)."""
    text = _prepared(text)
    words = _lex(text, posix=True)
    raw = _lex(text, posix=False)
    if len(raw) != len(words):  # the two passes disagree: trust the shell's own reading
        raw = words
    return [
        _Operator(word) if word == raw_token and word in _OPERATORS else word.translate(_BRACKETS)
        for word, raw_token in zip(words, raw, strict=True)
    ]


def _tokens_across_lines(line: str, following: list[tuple[int, str]]) -> tuple[list[str], int]:
    """Tokens of `line`, joined with as many following lines as a quote left open needs."""
    text = line
    for used in range(len(following) + 1):
        try:
            return _tokens(text), used
        except ValueError:
            if used == len(following):
                raise
            text = f"{text}\n{following[used][1]}"
    raise AssertionError("unreachable")  # the loop returns or raises


def _heredoc_delimiter(tokens: list[str]) -> tuple[list[str], str | None]:
    """The tokens without the `<< WORD` redirection, and WORD (quotes already removed)."""
    for index, token in enumerate(tokens):
        if isinstance(token, _Operator) and token in _HEREDOC and index + 1 < len(tokens):
            return tokens[:index] + tokens[index + 2 :], tokens[index + 1]
    return tokens, None


def _commands(tokens: list[str]) -> list[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]]:
    """Split tokens on separators into (argv, pipeline) pairs; empty commands are dropped."""
    out: list[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = []
    stages: list[list[str]] = [[]]
    redirected = False  # the word after `>` is where output goes, not an argument
    for token in [*tokens, _Operator(";")]:
        if redirected and not isinstance(token, _Operator):
            redirected = False
        elif isinstance(token, _Operator) and token in _REDIRECTIONS:
            redirected = True
        elif isinstance(token, _Operator) and token in _SEPARATORS:
            parts = [tuple(stage) for stage in stages if stage]
            if parts:
                out.append((parts[0], tuple(parts[1:])))
            stages = [[]]
        elif isinstance(token, _Operator) and token == _PIPE:
            stages.append([])
        else:
            stages[-1].append(token)
    return out


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) pairs with backslash continuations joined (lines otherwise as written)."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(text.split("\n")):
        if not pending:
            start = offset
        stripped = raw.rstrip()
        if stripped.endswith("\\") and not stripped.lstrip().startswith("#"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(raw.strip() if pending else raw)
        out.append((start, " ".join(pending)))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out


def split_block(text: str) -> list[CommandLine]:
    """Every command of a shell block, in order (see the module docstring)."""
    raw_lines = text.split("\n")
    logical = _logical_lines(text)
    out: list[CommandLine] = []
    notes: list[str] = []
    skip_until = -1
    position = 0
    while position < len(logical):
        offset, written = logical[position]
        line = written.strip()
        position += 1
        if offset <= skip_until:
            continue
        if not line:
            notes = []
            continue
        if line.startswith("#"):
            notes.append(line.lstrip("#").strip())
            continue
        note = " ".join(notes) or None
        notes = []
        try:
            tokens, used = _tokens_across_lines(written, logical[position:])
        except ValueError as exc:
            out.append(CommandLine(offset, line, tuple(line.split()), note=note, error=str(exc)))
            continue
        if used:
            following = (text for _, text in logical[position : position + used])
            line = "\n".join([written, *following]).strip()
            position += used
        tokens, delimiter = _heredoc_delimiter(tokens)
        stdin: str | None = None
        if delimiter is not None:
            body: list[str] = []
            skip_until = len(raw_lines)
            for index in range(offset + 1, len(raw_lines)):
                if raw_lines[index].strip() == delimiter:
                    skip_until = index
                    break
                body.append(raw_lines[index])
            stdin = "\n".join(body) + "\n"
            line = line.split("<<", 1)[0].rstrip()
        for argv, pipeline in _commands(tokens):
            out.append(CommandLine(offset, line, argv, pipeline, stdin, note))
    return out
