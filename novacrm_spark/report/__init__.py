"""The offline HTML dashboards: ``novacrm report`` reads the published marts into one file.

Three dashboards (Customer Health, Revenue Intelligence, Support Performance)
and a header with the run's headline numbers, rendered with plotly. plotly.js
and every chart's data are inlined, so the file opens without a network.

Example::

    >>> from novacrm_spark.report import write_report
    >>> write_report(store, "report.html")
    'report.html'
"""

from typing import Any

__all__ = ["render_report", "write_report"]


def __getattr__(name: str) -> Any:
    # plotly and pandas load only when a report is made, not for every novacrm command.
    if name in ("render_report", "write_report"):
        from novacrm_spark.report import page

        return getattr(page, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
