"""Numbers as a person reads them: rounded, in the unit that suits their size.

Every human-facing text (the verdict's reason, the CLI's summary, Markdown, HTML, JUnit messages,
incident texts, the chart's tooltips) formats through these functions, so "0.0129383 s" never
reaches a reader and the same value reads the same everywhere. Durations keep three significant digits below a minute (`36 ms`, `4.2 s`,
`12.3 s`) and whole seconds above (`15 min 50 s`); fractions read as percentages; counts get
thousands separators. report.json keeps the exact values.
"""

from __future__ import annotations

import math

DASH = "—"


def significant(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant digits, never in exponent form, no trailing zeros."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_seconds(value: float | None) -> str:
    """A duration: `36 ms`, `4.2 s`, `12.3 s`, `15 min 50 s`, `1 h 02 min`; `—` for None."""
    if value is None:
        return DASH
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size == 0:
        return "0 s"
    if size < 1:
        millis = significant(size * 1000)
        return f"{sign}1 s" if millis == "1000" else f"{sign}{millis} ms"
    if size < 59.95:
        return f"{sign}{significant(size)} s"
    whole = round(size)
    if whole < 3600:
        minutes, seconds = divmod(whole, 60)
        return f"{sign}{minutes} min {seconds:02d} s"
    hours, minutes = divmod(round(size / 60), 60)
    return f"{sign}{hours} h {minutes:02d} min"


def fmt_offset(value: float) -> str:
    """An offset from the start of the run, to the hundredth of a second: `+12.35 s`."""
    return f"{value:+.2f} s"


def fmt_count(value: int | float | None) -> str:
    """`12,345`; `—` for None."""
    if value is None:
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return significant(value)
    return f"{int(value):,}"


def fmt_rate(value: float | None) -> str:
    """A fraction as a percentage: 0.0123 -> `1.23 %`, 0.8 -> `80 %`; `—` for None."""
    return DASH if value is None else f"{significant(value * 100)} %"


def fmt_bytes(value: float | None) -> str:
    """`512 B`, `3.4 MiB`; `—` for None."""
    if value is None:
        return DASH
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{significant(size)} {unit}" if unit != "B" else f"{int(size):,} B"
        size /= 1024
    raise AssertionError("unreachable")


def fmt_value(value: float | None, unit: str) -> str:
    """A value in its unit: `s` (duration), `ratio` (percent), `count`, `bytes`, or any word."""
    if value is None:
        return DASH
    if unit == "s":
        return fmt_seconds(value)
    if unit == "ratio":
        return fmt_rate(value)
    if unit == "count":
        return fmt_count(value)
    if unit == "bytes":
        return fmt_bytes(value)
    number = fmt_count(value) if float(value).is_integer() else significant(value)
    return f"{number} {unit}".rstrip()


def fmt_margin(value: float | None, unit: str) -> str:
    """A margin with its sign: positive means room to spare."""
    if value is None:
        return DASH
    text = fmt_value(value, unit)
    return text if value < 0 else f"+{text}"
