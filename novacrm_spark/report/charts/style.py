"""Colours, labels, number formats and the shared layout of every chart.

One palette per code column, used by every chart, so that "critical" is the
same red everywhere and a reader learns the colours once.

Example::

    >>> money(12345.0)
    '$12.3k'
    >>> pct(101.25)
    '101.3%'
    >>> label("mid_market")
    'Mid-market'
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from novacrm_spark.columns import MOVEMENT_AMOUNTS

# Health tiers and risk levels: green (good) to red (bad), the traffic-light scale readers expect.
TIER_ORDER = ("champion", "healthy", "neutral", "at_risk", "critical")
TIER_COLORS = {
    "champion": "#1a9850",
    "healthy": "#74c365",
    "neutral": "#e8b923",
    "at_risk": "#f07c3e",
    "critical": "#d73027",
}
RISK_ORDER = ("low", "medium", "high", "critical")
RISK_COLORS = {"low": "#1a9850", "medium": "#e8b923", "high": "#f07c3e", "critical": "#d73027"}

# Categorical codes get distinct, colour-blind-friendly hues (no red/green pairs).
SEGMENT_ORDER = ("enterprise", "mid_market", "smb")
SEGMENT_COLORS = {"enterprise": "#3b5b92", "mid_market": "#2a9d8f", "smb": "#e9a03b"}
PRIORITY_ORDER = ("p1", "p2", "p3", "p4")
PRIORITY_COLORS = {"p1": "#c0392b", "p2": "#e67e22", "p3": "#2e86c1", "p4": "#7f8c8d"}
ALL_COLOR = "#222222"
COMPONENTS = ("usage_score", "support_score", "revenue_score", "engagement_score")
COMPONENT_COLORS = {
    "usage_score": "#4c78a8",
    "support_score": "#72b7b2",
    "revenue_score": "#54a24b",
    "engagement_score": "#b279a2",
    "health_score": "#444444",
}

# MRR movements, in the ledger's bridge order: gains green, losses red/orange, so the waterfall reads at a glance.
MOVEMENTS = MOVEMENT_AMOUNTS
MOVEMENT_COLORS = {
    "new_mrr": "#1a9850",
    "reactivation_mrr": "#66c2a5",
    "expansion_mrr": "#a6d96a",
    "contraction_mrr": "#fdae61",
    "churned_mrr": "#d73027",
}
MOVEMENT_LABELS = {
    "new_mrr": "New",
    "reactivation_mrr": "Reactivation",
    "expansion_mrr": "Expansion",
    "contraction_mrr": "Contraction",
    "churned_mrr": "Churn",
}
TOTAL_COLOR = "#3b5b92"

_LABELS = {
    "at_risk": "At risk",
    "mid_market": "Mid-market",
    "smb": "SMB",
    "p1": "P1",
    "p2": "P2",
    "p3": "P3",
    "p4": "P4",
    "usage_score": "Usage",
    "support_score": "Support",
    "revenue_score": "Revenue",
    "engagement_score": "Engagement",
    "health_score": "Health score",
}

# Fills light enough that white text on them would be hard to read.
_LIGHT_FILLS = {TIER_COLORS["healthy"], TIER_COLORS["neutral"], RISK_COLORS["medium"], "white"}

NO_DATA = "no data"
MONEY_AXIS = {"tickprefix": "$", "tickformat": "~s"}  # $12.3k, $1.2M
PCT_AXIS = {"ticksuffix": "%"}
FONT = "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def label(code: Any) -> str:
    """A code as a reader-friendly label: ``at_risk`` -> ``At risk``."""
    text = str(code)
    return _LABELS.get(text, text.replace("_", " ").capitalize())


def text_on(fill: str) -> str:
    """A readable text colour on ``fill``: dark on light fills, white on saturated ones."""
    return "#222" if fill in _LIGHT_FILLS else "white"


def is_missing(value: Any) -> bool:
    """True for None and NaN (pandas turns SQL nulls into either)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: Any) -> str:
    """Money in compact form: ``$950``, ``$12.3k``, ``$1.2M``; ``–`` when missing."""
    if is_missing(value):
        return "–"
    amount = float(value)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        # Compare after rounding so that 999,960 prints as $1.0M, not $1000.0k.
        if round(amount / limit, 1) >= 1:
            return f"{sign}${amount / limit:.1f}{suffix}"
    return f"{sign}${amount:,.0f}"


def pct(value: Any, digits: int = 1) -> str:
    """A percentage with one decimal: ``101.3%``; ``–`` when missing (e.g. no base)."""
    if is_missing(value):
        return "–"
    return f"{float(value):.{digits}f}%"


def number(value: Any, digits: int = 0) -> str:
    """A plain number with thousands separators; ``–`` when missing."""
    if is_missing(value):
        return "–"
    return f"{float(value):,.{digits}f}"


def styled(fig: go.Figure, title: str, x_title: str | None, y_title: str | None, height: int = 420) -> go.Figure:
    """Apply the report's common look: title, axis titles, white background, legend on top."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 17}},
        template="plotly_white",
        font={"family": FONT, "size": 13, "color": "#222"},
        height=height,
        margin={"l": 70, "r": 30, "t": 80, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        hoverlabel={"font": {"family": FONT}},
    )
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


def no_data(title: str, height: int = 420) -> go.Figure:
    """The empty state: the chart's title and a centred "no data", never a broken chart."""
    fig = go.Figure()
    fig.add_annotation(
        text=NO_DATA, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 22, "color": "#888"}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, title, None, None, height)


def is_empty(frame: Any, *columns: str) -> bool:
    """True when there is nothing to plot: no frame, no rows, a missing column or all-null columns."""
    if frame is None or len(frame) == 0:
        return True
    if any(c not in frame.columns for c in columns):
        return True
    return bool(columns) and all(frame[c].isna().all() for c in columns)
