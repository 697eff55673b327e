"""The intervention list: the 20 most urgent active accounts with their health signals.

Example::

    >>> fig = intervention_table(health, churn)
    >>> len(fig.data[0].cells.values[0])     # one row per account
    20
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from novacrm_spark.report.charts.style import (
    RISK_COLORS,
    TIER_COLORS,
    is_empty,
    label,
    money,
    no_data,
    number,
    styled,
    text_on,
)

TOP_N = 20
ROW_HEIGHT = 28

# (header, width, formatter(row) -> text): the signals that explain each account's score.
_COLUMNS = (
    ("#", 30, lambda r: f"{int(r.intervention_priority)}"),
    ("Account", 230, lambda r: str(r.company_name)),
    ("Segment", 85, lambda r: label(r.account_segment)),
    ("Owner", 120, lambda r: str(r.account_owner)),
    ("Health", 60, lambda r: number(r.health_score, 1)),
    ("Tier", 75, lambda r: label(r.health_tier)),
    ("Churn risk", 75, lambda r: label(r.risk_level) if isinstance(r.risk_level, str) else "–"),
    ("ARR", 70, lambda r: money(r.current_arr)),
    ("Usage", 55, lambda r: number(r.usage_score)),
    ("Support", 60, lambda r: number(r.support_score)),
    ("Revenue", 62, lambda r: number(r.revenue_score)),
    ("Engagement", 80, lambda r: number(r.engagement_score)),
    ("Events/day (30d)", 80, lambda r: number(r.avg_daily_events_30d, 1)),
    ("Open tickets (30d)", 80, lambda r: number(r.open_tickets_30d)),
    ("CSAT (30d)", 60, lambda r: number(r.avg_csat_30d, 1) if r.avg_csat_30d else "–"),
    ("MRR change", 75, lambda r: money(r.latest_mrr_change)),
)


def top_accounts(health: pd.DataFrame, churn: pd.DataFrame | None) -> pd.DataFrame:
    """The ``TOP_N`` accounts by intervention_priority (1 = most urgent), with their churn risk level."""
    top = health.sort_values(["intervention_priority", "account_id"]).head(TOP_N)
    if churn is None or is_empty(churn, "risk_level"):
        return top.assign(risk_level=None)
    return top.merge(churn[["account_id", "risk_level"]], on="account_id", how="left")


def intervention_table(health: pd.DataFrame, churn: pd.DataFrame | None) -> go.Figure:
    """A table of the top 20 accounts by intervention priority; tier and risk cells coloured."""
    title = f"Top {TOP_N} accounts by intervention priority"
    if is_empty(health, "intervention_priority"):
        return no_data(title)
    top = top_accounts(health, churn)
    rows = list(top.itertuples(index=False))
    values = [[fmt(r) for r in rows] for _, _, fmt in _COLUMNS]
    fills = [["white"] * len(rows) for _ in _COLUMNS]
    fills[5] = [TIER_COLORS.get(r.health_tier, "white") for r in rows]
    fills[6] = [RISK_COLORS.get(r.risk_level, "white") for r in rows]
    fonts = [["#222"] * len(rows) for _ in _COLUMNS]
    fonts[5] = [text_on(f) for f in fills[5]]
    fonts[6] = [text_on(f) for f in fills[6]]
    table = go.Table(
        columnwidth=[w for _, w, _ in _COLUMNS],
        header={
            "values": [f"<b>{h}</b>" for h, _, _ in _COLUMNS], "fill_color": "#3b5b92",
            "font": {"color": "white", "size": 12}, "align": "left", "height": 34,
        },
        cells={
            "values": values, "fill_color": fills, "font": {"color": fonts, "size": 12},
            "align": ["right", "left", "left", "left", "right", "center", "center"] + ["right"] * 9,
            "height": ROW_HEIGHT,
        },
    )
    fig = go.Figure(table)
    # Slack for a few rows whose long names wrap to two lines; a table taller than its figure would scroll.
    styled(fig, title, None, None, height=60 + 34 + ROW_HEIGHT * len(rows) + 80)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return fig
