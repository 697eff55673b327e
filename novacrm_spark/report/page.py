"""Assemble the report: one self-contained HTML page, plotly.js inlined once.

Every figure is written with ``include_plotlyjs=False`` and the library goes
once into ``<head>``, so the file opens offline and stays ~5 MB however many
charts it holds. Nothing on the page reads the clock: the same marts give the
same file.

Example::

    >>> html = render_report(load_report_data(store))
    >>> write_report(store, "report.html")
    'report.html'
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Mapping

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from novacrm_spark.errors import ReportError
from novacrm_spark.report.css import STYLESHEET
from novacrm_spark.report.data import ReportData, load_report_data
from novacrm_spark.report.headline import Headline, headlines
from novacrm_spark.report.sections import SECTIONS, Marts, Section
from novacrm_spark.store import TableStore

TITLE = "NovaCRM Customer Intelligence"
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def build_figures(marts: Marts) -> dict[str, go.Figure]:
    """Every chart of every section, by chart id, in page order."""
    return {chart.id: chart.build(marts) for section in SECTIONS for chart in section.charts}


def render_report(data: ReportData) -> str:
    """The whole page as one HTML string."""
    figures = build_figures(data.marts)
    body = "\n".join(
        [
            _header(data, headlines(data.marts)),
            _nav(),
            *(_section(section, figures) for section in SECTIONS),
            _footer(data.versions),
        ]
    )
    title = html.escape(f"{TITLE} — as of {data.run.as_of_date}")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{title}</title>\n<style>\n{STYLESHEET}</style>\n"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def write_report(store: TableStore, out: str | Path) -> str:
    """Read the marts from ``store`` and write the report to ``out``; returns the path written."""
    page = render_report(load_report_data(store))
    path = Path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    return str(path)


def _header(data: ReportData, numbers: list[Headline]) -> str:
    cards = "\n".join(
        f'<div class="kpi" data-kpi="{html.escape(h.label)}"><div class="kpi-label">{html.escape(h.label)}</div>'
        f'<div class="kpi-value">{html.escape(h.value)}</div>'
        f'<div class="kpi-detail">{html.escape(h.detail)}</div></div>'
        for h in numbers
    )
    return (
        f'<header class="report-header"><h1>{TITLE}</h1>'
        f'<p class="run">As of <b id="as-of-date">{html.escape(data.run.as_of_date)}</b>'
        f' &middot; run <code id="run-id">{html.escape(data.run.run_id)}</code></p>'
        f'<div class="kpis">{cards}</div></header>'
    )


def _nav() -> str:
    links = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in SECTIONS)
    return f'<nav class="report-nav">{links}</nav>'


def _section(section: Section, figures: Mapping[str, go.Figure]) -> str:
    cards = "\n".join(
        f'<div class="card{" wide" if chart.wide else ""}" data-chart="{chart.id}">'
        f"{_figure_html(figures[chart.id], chart.id)}</div>"
        for chart in section.charts
    )
    return (
        f'<section id="{section.id}" class="dashboard"><h2>{html.escape(section.title)}</h2>'
        f'<p class="intro">{html.escape(section.intro)}</p><div class="grid">\n{cards}\n</div></section>'
    )


def _figure_html(figure: go.Figure, div_id: str) -> str:
    """One chart's <div> and the script that draws it; the library itself is already in <head>."""
    return pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)


def _footer(versions: Mapping[str, int | None]) -> str:
    tables = ", ".join(f"marts.{name} v{version}" for name, version in versions.items())
    return f'<footer class="report-footer">Built from {html.escape(tables) or "the published marts"}.</footer>'
