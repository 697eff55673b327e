"""The ``novacrm report`` command.

Example::

    novacrm run --as-of 2025-01-31
    novacrm report --warehouse warehouse --out report.html

``cli.py`` imports ``report`` from here while it is itself still loading (and
twice under ``python -m novacrm_spark.cli``: once as ``__main__``, once by
name). So this module imports nothing from ``cli`` at load time; the command
is built on first access (:func:`__getattr__`), when cli's shared options exist.
"""

from __future__ import annotations

import functools

import click


def write(config_file, warehouse, engine, master, out) -> None:
    """Write the Customer Health, Revenue and Support dashboards from the published marts."""
    from novacrm_spark.cli import make_settings
    from novacrm_spark.report.page import write_report
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store

    settings = make_settings(config_file, warehouse=warehouse, engine=engine, master=master)
    spark = build_spark_session(settings)
    store = open_store(spark, settings.warehouse, settings.engine)
    path = write_report(store, out)
    click.echo(f"Wrote {path}")


@functools.cache
def report_command() -> click.Command:
    """The click command (built once): the shared settings options plus ``--out``."""
    from novacrm_spark.cli import settings_options

    out = click.option(
        "--out",
        default="report.html",
        show_default=True,
        type=click.Path(dir_okay=False),
        help="HTML file to write (self-contained: opens offline in any browser).",
    )
    return click.command(name="report")(settings_options(out(write)))


def __getattr__(name: str):
    if name == "report":
        return report_command()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
