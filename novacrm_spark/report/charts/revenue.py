"""Revenue Intelligence charts, from nrr_summary and revenue_cohort_analysis.

Example::

    >>> fig = mrr_waterfall(nrr)            # nrr = nrr_summary as pandas
    >>> [m for m in fig.data[0].measure]
    ['absolute', 'relative', 'relative', 'relative', 'relative', 'relative', 'total']
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from novacrm_spark.report.charts.style import (
    MONEY_AXIS,
    MOVEMENT_COLORS,
    MOVEMENT_LABELS,
    MOVEMENTS,
    PCT_AXIS,
    TOTAL_COLOR,
    is_empty,
    money,
    no_data,
    styled,
)

_LOSSES = ("contraction_mrr", "churned_mrr")
_WATERFALL_STEPS = ["Starting MRR", *(MOVEMENT_LABELS[m] for m in MOVEMENTS), "Ending MRR"]


def by_month(nrr: pd.DataFrame) -> pd.DataFrame:
    """nrr_summary in month order, revenue_month as a timestamp (plotly's date axis)."""
    frame = nrr.assign(revenue_month=pd.to_datetime(nrr["revenue_month"]))
    return frame.sort_values("revenue_month").reset_index(drop=True)


def _month_axis(fig: go.Figure) -> None:
    fig.update_xaxes(tickformat="%b %Y", dtick="M3", ticklabelmode="instant")


def mrr_movements(nrr: pd.DataFrame) -> go.Figure:
    """Stacked monthly MRR movements (gains up, losses down) with the net change as a line."""
    title = "Monthly MRR movements"
    if is_empty(nrr, "revenue_month"):
        return no_data(title)
    months = by_month(nrr)
    fig = go.Figure()
    for movement in MOVEMENTS:
        sign = -1 if movement in _LOSSES else 1  # losses are stored positive; draw them below zero
        fig.add_trace(
            go.Bar(
                x=months["revenue_month"], y=sign * months[movement], name=MOVEMENT_LABELS[movement],
                marker_color=MOVEMENT_COLORS[movement],
                hovertemplate="%{x|%b %Y}: $%{y:,.0f}<extra>" + MOVEMENT_LABELS[movement] + "</extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=months["revenue_month"], y=months["ending_mrr"] - months["starting_mrr"], name="Net change",
            mode="lines+markers", line={"color": "#222", "width": 2},
            hovertemplate="%{x|%b %Y}: $%{y:,.0f}<extra>Net change</extra>",
        )
    )
    styled(fig, title, "Month", "MRR change ($ per month)")
    fig.update_layout(barmode="relative")
    fig.update_yaxes(**MONEY_AXIS, zeroline=True, zerolinecolor="#888")
    _month_axis(fig)
    return fig


def _waterfall_values(row: pd.Series) -> list[float]:
    gains_and_losses = [-row[m] if m in _LOSSES else row[m] for m in MOVEMENTS]
    return [row["starting_mrr"], *gains_and_losses, row["ending_mrr"]]


def mrr_waterfall(nrr: pd.DataFrame) -> go.Figure:
    """Starting -> new, reactivation, expansion, contraction, churn -> ending MRR of one month.

    Shows the latest month; a menu switches to any other month (all months' values
    are in the file, so this works offline).
    """
    title = "MRR waterfall"
    if is_empty(nrr, "revenue_month"):
        return no_data(title)
    months = by_month(nrr)
    values = [_waterfall_values(row) for _, row in months.iterrows()]
    names = [f"{m:%b %Y}" for m in months["revenue_month"]]
    latest = len(values) - 1
    fig = go.Figure(
        go.Waterfall(
            x=_WATERFALL_STEPS, y=values[latest], measure=["absolute", *["relative"] * len(MOVEMENTS), "total"],
            text=[money(v) for v in values[latest]], textposition="outside",
            increasing={"marker": {"color": MOVEMENT_COLORS["new_mrr"]}},
            decreasing={"marker": {"color": MOVEMENT_COLORS["churned_mrr"]}},
            totals={"marker": {"color": TOTAL_COLOR}},
            connector={"line": {"color": "#999", "dash": "dot"}},
            hovertemplate="%{x}: $%{y:,.0f}<extra></extra>",
        )
    )
    styled(fig, f"{title}, {names[latest]}", "MRR component", "MRR ($)")
    fig.update_yaxes(**MONEY_AXIS, range=_waterfall_range(values[latest]))
    buttons = [
        {
            "label": name, "method": "update",
            "args": [
                {"y": [vals], "text": [[money(v) for v in vals]]},
                {"title.text": f"{title}, {name}", "yaxis.range": _waterfall_range(vals)},
            ],
        }
        for name, vals in zip(names, values)
    ]
    fig.update_layout(
        updatemenus=[
            {"buttons": buttons, "active": latest, "x": 1.0, "xanchor": "right", "y": 1.18, "yanchor": "top"}
        ],
        showlegend=False,
    )
    return fig


def _waterfall_range(values: list[float]) -> list[float]:
    """A y range from zero to above the highest running total, leaving room for the labels."""
    running, top = 0.0, 0.0
    for value in values[:-1]:
        running += value
        top = max(top, running)
    return [0, max(top, values[-1], 1) * 1.15]


def retention_rates(nrr: pd.DataFrame) -> go.Figure:
    """NRR and GRR per month with a dashed 100% reference line (null months, without a base, are gaps)."""
    title = "Net and gross revenue retention"
    if is_empty(nrr, "nrr_pct", "grr_pct"):
        return no_data(title)
    months = by_month(nrr)
    fig = go.Figure()
    for column, name, color in (("nrr_pct", "NRR", "#3b5b92"), ("grr_pct", "GRR", "#e9a03b")):
        fig.add_trace(
            go.Scatter(
                x=months["revenue_month"], y=months[column], name=name, mode="lines+markers",
                line={"color": color, "width": 2.5}, hovertemplate="%{x|%b %Y}: %{y:.1f}%<extra>" + name + "</extra>",
            )
        )
    fig.add_hline(y=100, line_dash="dash", line_color="#888", annotation_text="100%", annotation_position="top left")
    styled(fig, title, "Month", "Retention (% of starting MRR)")
    fig.update_yaxes(**PCT_AXIS)
    _month_axis(fig)
    return fig


def ending_arr(nrr: pd.DataFrame) -> go.Figure:
    """Ending ARR per month (12 x billed MRR), with paying accounts in the hover."""
    title = "Ending ARR by month"
    if is_empty(nrr, "ending_arr"):
        return no_data(title)
    months = by_month(nrr)
    fig = go.Figure(
        go.Bar(
            x=months["revenue_month"], y=months["ending_arr"], marker_color=TOTAL_COLOR,
            customdata=months[["paying_accounts"]].to_numpy() if "paying_accounts" in months else None,
            hovertemplate="%{x|%b %Y}: $%{y:,.0f} ARR, %{customdata[0]} paying accounts<extra></extra>",
            name="Ending ARR",
        )
    )
    styled(fig, title, "Month", "ARR ($)")
    fig.update_yaxes(**MONEY_AXIS)
    _month_axis(fig)
    return fig


def cohort_heatmap(cohorts: pd.DataFrame, metric: str) -> go.Figure:
    """Cohort (signup month) x months since first payment, coloured by account or revenue retention."""
    column = f"{metric}_retention_pct"
    title = f"Cohort {metric} retention"
    if is_empty(cohorts, column):
        return no_data(title)
    grid = cohorts.pivot_table(index="cohort_label", columns="period_number", values=column, aggfunc="first")
    grid = grid.sort_index().reindex(columns=range(int(grid.columns.max()) + 1))
    text = grid.map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(), x=list(grid.columns), y=list(grid.index), text=text.to_numpy(),
            texttemplate="%{text}", textfont={"size": 10}, colorscale="YlGnBu", zmin=0,
            zmax=100 if metric == "account" else 150,  # revenue can exceed 100%; above 150% saturates
            colorbar={"title": {"text": "%"}, "ticksuffix": "%"}, xgap=1, ygap=1,
            hovertemplate="cohort %{y}, month %{x}: %{z:.1f}%<extra></extra>",
        )
    )
    height = max(360, 150 + 22 * len(grid.index))
    styled(fig, title, "Months since first paying month", "Signup cohort", height=height)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(dtick=3 if len(grid.columns) > 12 else 1)
    return fig
