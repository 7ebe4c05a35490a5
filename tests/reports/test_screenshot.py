"""report.html as a browser draws it: a headless Chromium screenshot that is not blank.

Golden files prove the bytes; only a browser proves the page reads. Debian's stock `chromium`
(no emoji font, as on CI runners) draws the missed run, and the screenshot must show the page:
mostly light, with plenty of drawn pixels, and the colours of the missed and met tiles at the
top. Skipped, saying why, where no Chromium is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from drills.reports.html import HtmlRenderer
from tests.reports.png import read_rows
from tests.reports.runs import missed_run

WIDTH, HEIGHT = 1280, 2000
TOP_ROWS = 700  # the header, the tiles and the chart
MISSED_RED = (0xC9, 0x2A, 0x2A)
MET_GREEN = (0x2B, 0x8A, 0x3E)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(browser: str, html: Path, png: Path, profile: Path) -> None:
    """Headless Chromium's screenshot of `html`, with nothing reaching the network."""
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={WIDTH},{HEIGHT}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_report_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium on PATH (apt-get install -y chromium) to draw report.html")
    run = missed_run()
    html = tmp_path / "report.html"
    html.write_text(HtmlRenderer().render(run.result, run.samples, run.canary), encoding="utf-8")
    png = tmp_path / "report.png"
    screenshot(browser, html, png, tmp_path / "profile")

    width, height, rows = read_rows(png, TOP_ROWS)
    assert (width, height) == (WIDTH, HEIGHT)
    pixels = [tuple(row[i : i + 3]) for row in rows for i in range(0, len(row), 4 * 2)]
    drawn = sum(1 for p in pixels if p != (255, 255, 255))
    assert drawn / len(pixels) > 0.05, "the page is (nearly) blank"
    assert len(set(pixels)) > 50, "the page has too few colours to be the report"
    colours = set(pixels)
    assert MISSED_RED in colours, "the missed tiles' red is not on screen"
    assert MET_GREEN in colours, "the met tile's green is not on screen"
