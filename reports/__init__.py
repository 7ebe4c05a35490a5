"""Reports of a finished drill: `report.json`, `report.md`, `report.html` and `junit.xml`.

Each format is one module behind the `Renderer` interface; `write_all` writes them all. Installed
as `drills.reports` (the link `drills/reports`), never as a generic top-level `reports`.
"""

from drills.reports.base import Renderer, ReportError, default_renderers, write_all, write_atomic
from drills.reports.html import HtmlRenderer
from drills.reports.incident import IncidentTexts, Severity, build_incident_texts
from drills.reports.json_report import SCHEMA_PATH, JsonRenderer, build_report, load_schema
from drills.reports.junit import JUnitRenderer, build_junit
from drills.reports.markdown import MarkdownRenderer

__all__ = [
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
