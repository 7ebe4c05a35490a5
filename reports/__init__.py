"""Reports of a finished drill: `report.json`, `report.md`, `report.html` and `junit.xml`.

Each format is one module behind the `Renderer` interface; `write_all` writes them all.
"""

from reports.base import Renderer, ReportError, default_renderers, write_all, write_atomic
from reports.html import HtmlRenderer
from reports.incident import IncidentTexts, Severity, build_incident_texts
from reports.json_report import SCHEMA_PATH, JsonRenderer, build_report, load_schema
from reports.junit import JUnitRenderer, build_junit
from reports.markdown import MarkdownRenderer

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
