"""Render the report in headless Chromium and save one PNG per dashboard (the README's pictures).

Development tooling, not installed with the package (it needs the ``dev``
extra and a system Chromium). Run from the repository after ``novacrm run``::

    python dev/screenshots.py --warehouse warehouse --out docs/

writes ``docs/dashboard_health.png`` (with the header and its headline
numbers), ``docs/dashboard_revenue.png`` and ``docs/dashboard_support.png``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from novacrm_spark.cli_options import make_settings, settings_options
from novacrm_spark.errors import NovaCrmError
from novacrm_spark.report.page import write_report

from chromium import HeadlessChromium  # dev/chromium.py, beside this script

# (file name, the elements the picture covers): the first one includes the header.
SHOTS = (
    ("dashboard_health.png", ("header", "#health")),
    ("dashboard_revenue.png", ("#revenue",)),
    ("dashboard_support.png", ("#support",)),
)
WIDTH = 1400
# The toolbar plotly shows over a chart is for a live page; in a still picture it is clutter.
HIDE_TOOLBARS = "document.head.insertAdjacentHTML('beforeend', '<style>.modebar-container{display:none}</style>')"


def take_screenshots(report_html: str | Path, out_dir: str | Path) -> list[Path]:
    """Open ``report_html`` and save the three dashboard PNGs into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with HeadlessChromium(width=WIDTH) as browser:
        page = browser.open(Path(report_html).resolve().as_uri())
        page.evaluate(HIDE_TOOLBARS)
        page.settle()
        return [page.screenshot(out / name, *selectors) for name, selectors in SHOTS]


@click.command()
@settings_options
@click.option("--out", "out_dir", default="docs", show_default=True, type=click.Path(file_okay=False))
def main(config_file, warehouse, engine, master, out_dir) -> None:
    """Build the report from the warehouse's marts and screenshot each dashboard into OUT."""
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store

    try:
        settings = make_settings(config_file, warehouse=warehouse, engine=engine, master=master)
        store = open_store(build_spark_session(settings), settings.warehouse, settings.engine)
        with tempfile.TemporaryDirectory(prefix="novacrm-report-") as tmp:
            html = write_report(store, Path(tmp) / "report.html")
            for path in take_screenshots(html, out_dir):
                click.echo(f"Wrote {path}")
    except NovaCrmError as exc:  # one line and exit code 2, as `novacrm` does
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
