"""The three dashboards and the charts in each, in page order.

A chart is an id (its HTML element id) and a function from the marts to a
plotly Figure. ``wide`` charts span both columns of the grid.

Example::

    >>> [s.id for s in SECTIONS]
    ['health', 'revenue', 'support']
    >>> figure = SECTIONS[0].charts[0].build(marts)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import pandas as pd
import plotly.graph_objects as go

from novacrm_spark.report import charts

Marts = Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class Chart:
    id: str
    build: Callable[[Marts], go.Figure]
    wide: bool = False


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    charts: tuple[Chart, ...]


def _health(m: Marts) -> pd.DataFrame:
    return m.get("customer_health_scores")


def _churn(m: Marts) -> pd.DataFrame:
    return m.get("churn_risk_view")


def _nrr(m: Marts) -> pd.DataFrame:
    return m.get("nrr_summary")


def _cohorts(m: Marts) -> pd.DataFrame:
    return m.get("revenue_cohort_analysis")


def _sla(m: Marts) -> pd.DataFrame:
    return m.get("sla_adherence")


HEALTH = Section(
    "health",
    "Customer Health Overview",
    "Active accounts scored 0–100 from usage, support, revenue and engagement signals over the last 30 days.",
    (
        Chart("health-tiers", lambda m: charts.tier_accounts_arr(_health(m))),
        Chart("health-distribution", lambda m: charts.score_distribution(_health(m))),
        Chart("health-components", lambda m: charts.components_by_segment(_health(m))),
        Chart("health-risk-segment", lambda m: charts.risk_by(_churn(m), "account_segment")),
        Chart("health-priority", lambda m: charts.intervention_table(_health(m), _churn(m)), wide=True),
        Chart("health-risk-owner", lambda m: charts.risk_by(_churn(m), "account_owner"), wide=True),
    ),
)

REVENUE = Section(
    "revenue",
    "Revenue Intelligence",
    "Billed MRR (paid and overdue invoices) by month: movements, retention, ARR and signup cohorts.",
    (
        Chart("revenue-movements", lambda m: charts.mrr_movements(_nrr(m)), wide=True),
        Chart("revenue-waterfall", lambda m: charts.mrr_waterfall(_nrr(m))),
        Chart("revenue-arr", lambda m: charts.ending_arr(_nrr(m))),
        Chart("revenue-retention", lambda m: charts.retention_rates(_nrr(m)), wide=True),
        Chart("revenue-cohort-accounts", lambda m: charts.cohort_heatmap(_cohorts(m), "account"), wide=True),
        Chart("revenue-cohort-revenue", lambda m: charts.cohort_heatmap(_cohorts(m), "revenue"), wide=True),
    ),
)

SUPPORT = Section(
    "support",
    "Support Performance",
    "Tickets by month created: SLA adherence (resolved within target), resolution times and satisfaction.",
    (
        Chart("support-sla-priority", lambda m: charts.sla_by(_sla(m), "priority"), wide=True),
        Chart("support-sla-segment", lambda m: charts.sla_by(_sla(m), "segment")),
        Chart("support-csat", lambda m: charts.csat_trend(_sla(m))),
        Chart("support-resolution", lambda m: charts.resolution_hours(_sla(m)), wide=True),
    ),
)

SECTIONS = (HEALTH, REVENUE, SUPPORT)
