"""report.html: self-contained (nothing external), escaped, with the SVG timeline chart."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

from drills.models import Sample, TargetRef
from drills.reports.chart import MAX_SEGMENTS
from drills.reports.html import HtmlRenderer
from tests.reports.runs import (
    Run,
    aborted_run,
    make_canary,
    make_samples,
    met_run,
    missed_run,
)

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
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
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
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
    assert html.count('<svg class="timeline"') == 1
    start = html.index('<svg class="timeline"')
    svg = html[start : html.index("</svg>", start)]
    # one labelled lane per signal, the api-health lane as ok / failed / ok
    for signal in ("api-health", "graphql-health", "postgres", "redis"):
        assert f'data-signal="{signal}"' in svg
    states = re.findall(r'data-signal="api-health" data-state="(\w+)"', svg)
    assert states == ["ok", "failed", "ok"]
    assert re.findall(r'data-signal="redis" data-state="(\w+)"', svg) == ["ok"]
    assert svg.count('data-activity="1"') == len(run.result.activities)
    marks = re.findall(r'data-mark="(\w+)"[^>]*>([^<]*)<', svg)
    assert marks == [
        ("fault", "fault +10.00 s"),
        ("detected", "detected +10.50 s"),
        ("recovered", "recovered +15.00 s"),
    ]
    assert ">seconds from start<" in svg


def test_unrecovered_run_has_no_recovered_mark() -> None:
    run = aborted_run()
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
    assert 'data-mark="fault"' in html
    assert 'data-mark="recovered"' not in html


def test_values_are_escaped() -> None:
    run = aborted_run()
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; friends" in html


def test_flapping_lane_is_downsampled_but_failures_stay_visible() -> None:
    run = missed_run()
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
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
    # and a canary at 100 writes/s for the hour: 360,000 writes, refused for a minute
    canary = make_canary(3600.0, 100.0, refused=[(100.0, 160.0)], lost=[(99.0, 100.0)])
    html = HtmlRenderer().render(result, samples, canary)
    assert len(html) < 120_000
    assert re.findall(r'data-fate="(\w+)"', html) == [
        "acknowledged",
        "acknowledged",
        "failed",
        "lost",
    ]
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


EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\ufe0f\u2b00-\u2bff]")


def test_html_draws_no_emoji(run: Run) -> None:
    # Stock Debian Chromium has no emoji font: every mark must be an inline SVG or plain text.
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
    assert EMOJI.findall(html) == []
    assert 'class="icon icon-' in html


def test_headline_tiles_show_figures_beside_their_objectives() -> None:
    run = missed_run()
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
    tiles = re.findall(
        r'<div class="tile state-(\w+)">\n<div class="tile-label">.*?</svg> ([^<]+)</div>\n'
        r'<div class="tile-value[^"]*">([^<]+)</div>\n<div class="tile-objective">([^<]+)</div>',
        html,
    )
    assert tiles == [
        (
            "missed",
            "Verdict",
            "MISSED",
            "missed: rto 15 min 50 s (objective &lt;= 15 min 00 s)",
        ),
        ("missed", "Recovery time (RTO)", "15 min 50 s", "objective ≤ 15 min 00 s"),
        ("met", "Data loss window (RPO)", "4.2 s", "objective ≤ 5 min 00 s"),
        ("loss", "Writes lost", "42", "of 500 acknowledged"),
        ("info", "Time to detect (TTD)", "1 s", "no objective set"),
    ]


def _visible_text(html: str) -> str:
    """The text a reader sees: tags and ISO-8601 timestamps (exact by design) removed."""
    text = re.sub(r"<[^>]+>", " ", html[html.index("<body>") :])
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "", text)


def test_no_raw_float_or_key_reaches_the_reader(run: Run) -> None:
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
    text = _visible_text(html)
    assert re.findall(r"\d+\.\d{4,}", text) == []
    for key in run.result.measurements.extra:
        assert key not in html
    for key in run.result.measurements.unmeasured:
        assert key not in text


def test_extra_measurements_have_labels_and_units() -> None:
    run = met_run()
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
    assert "<tr><td>Peak DB pool use before the fault</td><td>1.29 %</td></tr>" in html
    assert "<tr><td>Standby promotion</td><td>412 ms</td></tr>" in html
    assert "<tr><td>PostgreSQL breaker: time to close</td><td>2.5 s</td></tr>" in html
    assert "<tr><td>Canary write rate</td><td>20 writes/s</td></tr>" in html


def test_canary_lane_shows_acknowledged_refused_and_lost_writes() -> None:
    run = missed_run()
    html = HtmlRenderer().render(run.result, run.samples, run.canary)
    labels = re.findall(r'data-canary="(\w+)">([^<]+)<', html)
    assert labels == [
        ("acknowledged", "acknowledged (500)"),
        ("failed", "not acknowledged (9,500)"),
        ("lost", "lost (42)"),
        ("corrupted", "corrupted (1)"),
    ]
    # acknowledged before the fault and after recovery, refused in between, lost before the fault
    titles = re.findall(r"<title>([^<]*write\(s\) sent[^<]*)</title>", html)
    assert titles == [
        "300 acknowledged write(s) sent +0.00 s → +30.00 s",
        "200 acknowledged write(s) sent +980.00 s → +1000.00 s",
        "9,500 not acknowledged write(s) sent +30.00 s → +980.00 s",
        "42 lost write(s) sent +25.80 s → +30.00 s",
        "1 corrupted write(s) sent +20.00 s → +20.10 s",
    ]


def test_canary_lane_says_when_there_is_no_canary_or_no_read_back() -> None:
    run = met_run()
    html = HtmlRenderer().render(run.result, run.samples)
    assert "no canary ran in this drill" in html
    unread = make_canary(60.0, 20.0, refused=[(10.0, 13.5)], readback_error="read-back failed")
    html = HtmlRenderer().render(run.result, run.samples, unread)
    assert 'data-canary="lost">lost (unknown)<' in html
    assert ">read-back failed<" in html
