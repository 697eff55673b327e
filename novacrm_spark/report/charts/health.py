"""Customer Health Overview charts, from customer_health_scores and churn_risk_view.

Each function takes pandas DataFrames with the marts' columns and returns a
plotly Figure; an empty input gives a "no data" figure.

Example::

    >>> fig = tier_accounts_arr(health)   # health = customer_health_scores as pandas
    >>> fig.layout.title.text
    'Accounts and ARR by health tier'
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from novacrm_spark.report.charts.style import (
    COMPONENT_COLORS,
    COMPONENTS,
    MONEY_AXIS,
    RISK_COLORS,
    RISK_ORDER,
    SEGMENT_ORDER,
    TIER_COLORS,
    TIER_ORDER,
    is_empty,
    label,
    money,
    no_data,
    styled,
)


def tier_accounts_arr(health: pd.DataFrame) -> go.Figure:
    """Two bar panels: number of active accounts and their ARR in each health tier."""
    title = "Accounts and ARR by health tier"
    if is_empty(health, "health_tier"):
        return no_data(title)
    by_tier = (
        health.groupby("health_tier")
        .agg(accounts=("account_id", "count"), arr=("current_arr", "sum"))
        .reindex(TIER_ORDER, fill_value=0)  # every tier shown, even an empty one, so colours line up
    )
    names = [label(t) for t in by_tier.index]
    colors = [TIER_COLORS[t] for t in by_tier.index]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Active accounts", "ARR"), horizontal_spacing=0.14)
    fig.add_trace(
        go.Bar(
            x=names, y=by_tier["accounts"], marker_color=colors, text=by_tier["accounts"], textposition="outside",
            constraintext="none", hovertemplate="%{x}: %{y} accounts<extra></extra>", name="Accounts",
        ),
        row=1, col=1,
    )
    fig.add_trace(
        go.Bar(
            x=names, y=by_tier["arr"], marker_color=colors, text=[money(v) for v in by_tier["arr"]],
            textposition="outside", constraintext="none",  # full-size labels, never shrunk to fit
            hovertemplate="%{x}: $%{y:,.0f} ARR<extra></extra>", name="ARR",
        ),
        row=1, col=2,
    )
    styled(fig, title, "Health tier", None)
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title_text="Accounts", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="ARR ($)", rangemode="tozero", row=1, col=2, **MONEY_AXIS)
    # Room above the tallest bar for its "outside" label.
    fig.update_yaxes(range=[0, max(by_tier["accounts"].max(), 1) * 1.18], row=1, col=1)
    fig.update_yaxes(range=[0, max(by_tier["arr"].max(), 1) * 1.18], row=1, col=2)
    return fig


def score_distribution(health: pd.DataFrame) -> go.Figure:
    """Histogram of health scores in 5-point bins, stacked and coloured by tier."""
    title = "Health score distribution"
    if is_empty(health, "health_score"):
        return no_data(title)
    fig = go.Figure()
    for tier in TIER_ORDER:
        scores = health.loc[health["health_tier"] == tier, "health_score"]
        if len(scores):
            fig.add_trace(
                go.Histogram(
                    x=scores, name=label(tier), marker_color=TIER_COLORS[tier],
                    xbins={"start": 0, "end": 100.0001, "size": 5},
                    hovertemplate="score %{x}: %{y} accounts<extra>" + label(tier) + "</extra>",
                )
            )
    styled(fig, title, "Health score (0–100)", "Accounts")
    fig.update_layout(barmode="stack", bargap=0.05)
    fig.update_xaxes(range=[0, 100], dtick=10)
    return fig


def components_by_segment(health: pd.DataFrame) -> go.Figure:
    """Mean of each score component (and of the health score) per account segment."""
    title = "Score components by segment (mean)"
    if is_empty(health, "account_segment"):
        return no_data(title)
    columns = [*COMPONENTS, "health_score"]
    means = health.groupby("account_segment")[columns].mean()
    segments = [s for s in SEGMENT_ORDER if s in means.index] + sorted(set(means.index) - set(SEGMENT_ORDER))
    means = means.reindex(segments)
    fig = go.Figure()
    for column in columns:
        fig.add_trace(
            go.Bar(
                x=[label(s) for s in segments], y=means[column], name=label(column),
                marker_color=COMPONENT_COLORS[column], text=[f"{v:.0f}" for v in means[column]],
                textposition="outside", hovertemplate="%{x}: %{y:.1f}<extra>" + label(column) + "</extra>",
            )
        )
    styled(fig, title, "Account segment", "Mean score (0–100)")
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 110])
    return fig


def risk_by(churn: pd.DataFrame, column: str) -> go.Figure:
    """Active accounts per ``column`` value (segment or owner), stacked by churn risk level."""
    noun = "owner" if column == "account_owner" else "segment"
    title = f"Churn risk level by {noun}"
    if is_empty(churn, column, "risk_level"):
        return no_data(title)
    counts = pd.crosstab(churn[column], churn["risk_level"]).reindex(columns=list(RISK_ORDER), fill_value=0)
    counts = counts.loc[_category_order(counts, column)]
    fig = go.Figure()
    for level in RISK_ORDER:
        fig.add_trace(
            go.Bar(
                x=[label(v) if column == "account_segment" else v for v in counts.index], y=counts[level],
                name=label(level), marker_color=RISK_COLORS[level],
                hovertemplate="%{x}: %{y} accounts<extra>" + label(level) + " risk</extra>",
            )
        )
    styled(fig, title, "Account owner" if noun == "owner" else "Account segment", "Active accounts")
    fig.update_layout(barmode="stack", legend_title_text="Risk level ")
    return fig


def _category_order(counts: pd.DataFrame, column: str) -> list:
    """Segments in their natural order; owners with the most high/critical-risk accounts first."""
    if column == "account_segment":
        known = [s for s in SEGMENT_ORDER if s in counts.index]
        return known + sorted(set(counts.index) - set(known))
    urgent = counts["high"] + counts["critical"]
    frame = pd.DataFrame({"urgent": urgent, "owner": counts.index}, index=counts.index)
    return list(frame.sort_values(["urgent", "owner"], ascending=[False, True]).index)
