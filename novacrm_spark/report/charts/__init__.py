"""One small function per chart: pandas DataFrames in, a plotly Figure out (no Spark needed).

Example::

    >>> from novacrm_spark.report import charts
    >>> charts.ending_arr(nrr_summary_pandas).layout.title.text
    'Ending ARR by month'
"""

from novacrm_spark.report.charts.health import components_by_segment, risk_by, score_distribution, tier_accounts_arr
from novacrm_spark.report.charts.priority_table import intervention_table
from novacrm_spark.report.charts.revenue import (
    cohort_heatmap,
    ending_arr,
    mrr_movements,
    mrr_waterfall,
    retention_rates,
)
from novacrm_spark.report.charts.support import csat_trend, resolution_hours, sla_by

__all__ = [
    "cohort_heatmap",
    "components_by_segment",
    "csat_trend",
    "ending_arr",
    "intervention_table",
    "mrr_movements",
    "mrr_waterfall",
    "resolution_hours",
    "retention_rates",
    "risk_by",
    "score_distribution",
    "sla_by",
    "tier_accounts_arr",
]
