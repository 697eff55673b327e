"""The offline HTML dashboards: ``novacrm report`` reads the published marts into one file.

Three dashboards (Customer Health, Revenue Intelligence, Support Performance)
and a header with the run's headline numbers, rendered with plotly. plotly.js
and every chart's data are inlined, so the file opens without a network.

Example::

    >>> from novacrm_spark.report import write_report
    >>> write_report(store, "warehouse", "report.html")
    'report.html'
"""

from novacrm_spark.report.errors import ReportError
from novacrm_spark.report.page import render_report, write_report

__all__ = ["ReportError", "render_report", "write_report"]
