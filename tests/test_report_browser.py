"""The report in a real browser: headless Chromium loads it, draws every chart, logs no errors.

The browser driver and the screenshot script are development tooling in
``dev/`` (not installed with the package). Skips only when no Chromium is
installed (Debian: ``apt-get install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from novacrm_spark.report.data import ReportData
from novacrm_spark.report.page import render_report, write_report
from novacrm_spark.report.sections import SECTIONS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
from chromium import HeadlessChromium, find_chromium  # noqa: E402  (dev/chromium.py)
from screenshots import SHOTS, WIDTH, take_screenshots  # noqa: E402  (dev/screenshots.py)

pytestmark = pytest.mark.skipif(
    find_chromium() is None, reason="no Chromium installed (apt-get install chromium; .ci/run installs it)"
)

CHART_IDS = [chart.id for section in SECTIONS for chart in section.charts]

# Per chart: plot surfaces drawn, data marks drawn (bars, points, lines, heatmap images,
# table cells), its size, and whether it shows the "no data" note.
RENDER_STATS = """
Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => {
  const box = d.getBoundingClientRect();
  const notes = Array.from(d.querySelectorAll('.annotation-text')).map(a => a.textContent);
  return {
    id: d.id,
    svgs: d.querySelectorAll('.main-svg').length,
    marks: d.querySelectorAll('.trace .point, .trace path.js-line, .hm image, .table .cell-text').length,
    width: box.width,
    height: box.height,
    noData: notes.includes('no data'),
  };
})
"""


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def load(url: str, screenshot: Path | None = None):
    """(console errors, per-chart stats, page height) of ``url`` in headless Chromium."""
    with HeadlessChromium(width=1400) as browser:
        page = browser.open(url)
        stats = page.evaluate(RENDER_STATS)
        height = page.evaluate("document.documentElement.scrollHeight")
        if screenshot is not None:
            page.screenshot(screenshot)
        return list(page.errors), stats, height


@pytest.fixture(scope="module")
def sample_report(spark, built_warehouse, tmp_path_factory) -> Path:
    from novacrm_spark.store import open_store

    out = tmp_path_factory.mktemp("browser") / "report.html"
    write_report(open_store(spark, str(built_warehouse), "embedded"), out)
    return out


def test_sample_report_renders_every_chart_with_no_console_errors(sample_report, tmp_path):
    shot = tmp_path / "report.png"
    errors, stats, height = load(sample_report.resolve().as_uri(), screenshot=shot)
    assert errors == []
    assert [s["id"] for s in stats] == CHART_IDS
    for chart in stats:
        assert chart["svgs"] >= 1, f"{chart['id']} drew no plot surface"
        assert chart["marks"] > 0, f"{chart['id']} drew no data marks"
        assert chart["width"] > 300 and chart["height"] > 300, f"{chart['id']} is too small: {chart}"
        assert not chart["noData"], f"{chart['id']} shows 'no data' for the sample"
    assert png_size(shot) == (1400, height)


def test_empty_report_renders_no_data_states_with_no_console_errors(tmp_path):
    page = tmp_path / "empty.html"
    page.write_text(render_report(ReportData(marts={})), encoding="utf-8")
    errors, stats, _ = load(page.as_uri())
    assert errors == []
    assert [s["id"] for s in stats] == CHART_IDS
    assert all(s["svgs"] >= 1 and s["noData"] and s["marks"] == 0 for s in stats), stats


def test_console_errors_and_exceptions_are_caught(tmp_path):
    # The check above is only worth something if a broken page would fail it.
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><script>console.error('boom ' + 42);</script>"
        "<script>null.property;</script></body></html>",
        encoding="utf-8",
    )
    errors, stats, _ = load(page.as_uri())
    assert any("boom 42" in e for e in errors), errors
    assert any("TypeError" in e for e in errors), errors
    assert stats == []


def test_screenshot_script_saves_one_picture_per_dashboard(sample_report, tmp_path):
    shots = take_screenshots(sample_report, tmp_path / "docs")
    assert [path.name for path in shots] == [name for name, _ in SHOTS]
    for path in shots:
        width, height = png_size(path)
        assert width == WIDTH and height > 300, f"{path.name} is {width}x{height}"
