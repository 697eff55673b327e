"""The ``novacrm report`` command.

Example::

    novacrm run --as-of 2025-01-31
    novacrm report --warehouse warehouse --out report.html
"""

from __future__ import annotations

import click

from novacrm_spark.cli_options import make_settings, settings_options
from novacrm_spark.extras import require_extras


@click.command(name="report")
@settings_options
@click.option(
    "--out",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="HTML file to write (self-contained: opens offline in any browser).",
)
def report(common, out) -> None:
    """Write the Customer Health, Revenue and Support dashboards from the published marts."""
    require_extras("report")
    from novacrm_spark.report.page import write_report
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store

    settings = make_settings(common)
    spark = build_spark_session(settings, common.verbose)
    store = open_store(spark, settings.warehouse, settings.engine)
    path = write_report(store, out)
    click.echo(f"Wrote {path}")
