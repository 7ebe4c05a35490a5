"""The public surface of `reports`: what other packages may import, locked."""

from __future__ import annotations

from drills import reports


def test_all_is_locked() -> None:
    assert sorted(reports.__all__) == sorted(
        [
            "SCHEMA_PATH",
            "HtmlRenderer",
            "IncidentTexts",
            "JUnitRenderer",
            "JsonRenderer",
            "MarkdownRenderer",
            "Renderer",
            "ReportError",
            "Severity",
            "build_incident_texts",
            "build_junit",
            "build_report",
            "default_renderers",
            "load_schema",
            "write_all",
            "write_atomic",
        ]
    )
    for name in reports.__all__:
        assert hasattr(reports, name), name


def test_default_renderers_cover_the_four_files() -> None:
    names = [r.filename for r in reports.default_renderers()]
    assert names == ["report.json", "report.md", "report.html", "junit.xml"]
