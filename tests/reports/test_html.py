"""report.html: self-contained (nothing external), escaped, with the SVG timeline chart."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

from drills.models import Sample, TargetRef
from reports.chart import MAX_SEGMENTS
from reports.html import HtmlRenderer
from tests.reports.runs import Run, aborted_run, make_samples, met_run, missed_run

EXTERNAL_TAGS = {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source"}


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the stack depth at the end (0 when balanced)."""

    VOID = frozenset({"meta", "br", "hr", "input", "img", "link", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def test_html_loads_nothing_from_elsewhere(run: Run) -> None:
    html = HtmlRenderer().render(run.result, run.samples)
    parsed = _parse(html)
    assert parsed.open == [], "unbalanced tags"
    for tag, attrs in parsed.tags:
        assert tag not in EXTERNAL_TAGS, f"<{tag}> in a self-contained report"
        for name, value in attrs.items():
            assert name not in {"src", "href", "xlink:href", "srcset"}, f"<{tag} {name}=...>"
            assert "://" not in (value or ""), f"<{tag} {name}={value!r}>"
    assert "url(" not in html
    assert "@import" not in html


def test_html_has_no_http_reference_at_all(run: Run) -> None:
    # Without a URL in the run's own data (the target address), not one http(s):// anywhere.
    result = replace(run.result, target=TargetRef(run.result.target.name, "sandbox", None))
    html = HtmlRenderer().render(result, run.samples)
    assert re.search(r"https?://", html) is None


def test_html_contains_the_timeline_svg_with_lanes_and_marks() -> None:
    run = met_run()
    html = HtmlRenderer().render(run.result, run.samples)
    assert html.count("<svg") == 1
    svg = html[html.index("<svg") : html.index("</svg>")]
    # one labelled lane per signal, the api-health lane as ok / failed / ok
    for signal in ("api-health", "graphql-health", "postgres", "redis"):
        assert f'data-signal="{signal}"' in svg
    states = re.findall(r'data-signal="api-health" data-state="(\w+)"', svg)
    assert states == ["ok", "failed", "ok"]
    assert re.findall(r'data-signal="redis" data-state="(\w+)"', svg) == ["ok"]
    assert svg.count('data-activity="1"') == len(run.result.activities)
    marks = re.findall(r'data-mark="(\w+)"[^>]*>([^<]*)<', svg)
    assert marks == [
        ("fault", "fault +10.000 s"),
        ("detected", "detected +10.500 s"),
        ("recovered", "recovered +15.000 s"),
    ]
    assert ">seconds from start<" in svg


def test_unrecovered_run_has_no_recovered_mark() -> None:
    run = aborted_run()
    html = HtmlRenderer().render(run.result, run.samples)
    assert 'data-mark="fault"' in html
    assert 'data-mark="recovered"' not in html


def test_values_are_escaped() -> None:
    run = aborted_run()
    html = HtmlRenderer().render(run.result, run.samples)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; friends" in html


def test_flapping_lane_is_downsampled_but_failures_stay_visible() -> None:
    run = missed_run()
    html = HtmlRenderer().render(run.result, run.samples)
    flapping = re.findall(r'data-signal="latency-probe" data-state="(\w+)"', html)
    assert 0 < len(flapping) <= MAX_SEGMENTS
    assert set(flapping) == {"mixed"}


def test_html_stays_small_for_a_long_dense_run() -> None:
    run = met_run()
    # 10 Hz for an hour on 4 signals, one flapping: 144,000 samples
    samples = make_samples(
        3600.0,
        0.1,
        [
            ("api-health", True, lambda t: not 100 <= t < 160),
            ("graphql-health", True, lambda t: not 100 <= t < 170),
            ("postgres", True, lambda t: True),
            ("flappy", False, lambda t: round(t * 10) % 3 != 0),
        ],
    )
    result = replace(run.result, ended_at=3600.0)
    html = HtmlRenderer().render(result, samples)
    assert len(html) < 120_000
    assert re.findall(r'data-signal="api-health" data-state="(\w+)"', html) == [
        "ok",
        "failed",
        "ok",
    ]


def test_a_pause_in_sampling_shows_as_no_data() -> None:
    run = met_run()
    samples = [Sample(t / 2, "api-health", True) for t in range(20)]
    samples += [Sample(40 + t / 2, "api-health", True) for t in range(20)]
    html = HtmlRenderer().render(run.result, samples)
    assert re.findall(r'data-signal="api-health" data-state="(\w+)"', html) == ["ok", "ok"]
