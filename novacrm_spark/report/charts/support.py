"""Support Performance charts, from sla_adherence (one row per month and priority or segment).

Example::

    >>> fig = sla_by(sla, "priority")       # sla = sla_adherence as pandas
    >>> [t.name for t in fig.data]
    ['P1', 'P2', 'P3', 'P4', 'All tickets']
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from novacrm_spark.columns import SLA_TARGET_HOURS
from novacrm_spark.report.charts.style import (
    ALL_COLOR,
    PCT_AXIS,
    PRIORITY_COLORS,
    PRIORITY_ORDER,
    SEGMENT_COLORS,
    SEGMENT_ORDER,
    is_empty,
    label,
    no_data,
    styled,
)

HOUR_TICKS = (0.5, 1, 2, 4, 8, 12, 24, 48, 120, 240, 480, 1000)
_ORDER = {"priority": PRIORITY_ORDER, "segment": SEGMENT_ORDER}
_COLORS = {"priority": PRIORITY_COLORS, "segment": SEGMENT_COLORS}


def dimension(sla: pd.DataFrame, dimension_type: str) -> pd.DataFrame:
    """The rows of one dimension, month as a timestamp, in month order."""
    rows = sla[sla["dimension_type"] == dimension_type]
    rows = rows.assign(month=pd.to_datetime(rows["ticket_year_month"], format="%Y-%m"))
    return rows.sort_values(["month", "dimension_value"])


def values_in_order(rows: pd.DataFrame, dimension_type: str) -> list[str]:
    """The dimension's values in their natural order (p1..p4; enterprise, mid-market, smb)."""
    present = set(rows["dimension_value"])
    known = [v for v in _ORDER[dimension_type] if v in present]
    return known + sorted(present - set(known))


def overall_adherence(rows: pd.DataFrame) -> pd.DataFrame:
    """All tickets per month, from one dimension's rows (each ticket is in exactly one priority).

    Adherence is recomputed from the counts (within_sla / resolved), never as a mean of percentages.
    """
    totals = rows.groupby("month", as_index=False)[["within_sla", "resolved_tickets"]].sum()
    resolved = totals["resolved_tickets"].where(totals["resolved_tickets"] > 0)
    return totals.assign(sla_adherence_pct=(totals["within_sla"] / resolved * 100).round(1))


def _month_axis(fig: go.Figure) -> None:
    fig.update_xaxes(tickformat="%b %Y", dtick="M3", ticklabelmode="instant")


def _line(x, y, name: str, color: str, fmt: str, **kwargs) -> go.Scatter:
    return go.Scatter(
        x=x, y=y, name=name, mode="lines+markers", line={"color": color, "width": 2}, marker={"size": 5},
        hovertemplate="%{x|%b %Y}: " + fmt + "<extra>" + name + "</extra>", connectgaps=False, **kwargs,
    )


def sla_by(sla: pd.DataFrame, dimension_type: str) -> go.Figure:
    """SLA adherence (% of resolved tickets resolved within target) per month, one line per value."""
    title = f"SLA adherence by {dimension_type}"
    if is_empty(sla, "dimension_type") or not (sla["dimension_type"] == dimension_type).any():
        return no_data(title)
    rows = dimension(sla, dimension_type)
    fig = go.Figure()
    for value in values_in_order(rows, dimension_type):
        part = rows[rows["dimension_value"] == value]
        color = _COLORS[dimension_type].get(value, "#999")
        fig.add_trace(_line(part["month"], part["sla_adherence_pct"], label(value), color, "%{y:.1f}%"))
    if dimension_type == "priority":
        overall = overall_adherence(rows)
        fig.add_trace(
            _line(overall["month"], overall["sla_adherence_pct"], "All tickets", ALL_COLOR, "%{y:.1f}%")
        )
        fig.data[-1].line.dash = "dash"
    styled(fig, title, "Month created", "SLA adherence (% of resolved tickets)")
    fig.update_yaxes(range=[0, 105], **PCT_AXIS)
    _month_axis(fig)
    return fig


def resolution_hours(sla: pd.DataFrame) -> go.Figure:
    """Median and 90th-percentile resolution hours by priority per month (log scale: P1 is hours, P4 days)."""
    title = "Resolution hours by priority: median and 90th percentile (dotted: SLA target)"
    if is_empty(sla, "median_resolution_hours") or not (sla["dimension_type"] == "priority").any():
        return no_data(title)
    rows = dimension(sla, "priority")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Median", "90th percentile"), shared_yaxes=True)
    for col, column in ((1, "median_resolution_hours"), (2, "p90_resolution_hours")):
        for value in values_in_order(rows, "priority"):
            part = rows[rows["dimension_value"] == value]
            line = _line(
                part["month"], part[column], label(value), PRIORITY_COLORS.get(value, "#999"), "%{y:.1f} h",
                legendgroup=value, showlegend=col == 1,
            )
            fig.add_trace(line, row=1, col=col)
    for value in values_in_order(rows, "priority"):
        if value in SLA_TARGET_HOURS:  # the target makes "fast" or "slow" readable at a glance
            color = PRIORITY_COLORS.get(value, "#999")
            target = {"dash": "dot", "color": color, "width": 1.5}
            fig.add_hline(y=SLA_TARGET_HOURS[value], line=target, row=1, col="all")
    styled(fig, title, "Month created", None)
    fig.update_yaxes(type="log", tickvals=HOUR_TICKS, ticktext=[f"{h:g}" for h in HOUR_TICKS])
    fig.update_yaxes(title_text="Resolution hours (log scale)", row=1, col=1)
    fig.update_layout(legend={"y": 1.12}, margin={"t": 110})  # the legend above the panel titles
    _month_axis(fig)
    return fig


def csat_trend(sla: pd.DataFrame) -> go.Figure:
    """Average CSAT (1-5, rated tickets) per month and account segment."""
    title = "CSAT trend by segment"
    if is_empty(sla, "avg_csat") or not (sla["dimension_type"] == "segment").any():
        return no_data(title)
    rows = dimension(sla, "segment")
    fig = go.Figure()
    for value in values_in_order(rows, "segment"):
        part = rows[rows["dimension_value"] == value]
        fig.add_trace(
            _line(part["month"], part["avg_csat"], label(value), SEGMENT_COLORS.get(value, "#999"), "%{y:.2f} / 5")
        )
    styled(fig, title, "Month created", "Average CSAT (1–5)")
    fig.update_yaxes(range=[1, 5.1], dtick=1)
    _month_axis(fig)
    return fig
