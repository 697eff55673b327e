"""The header's headline numbers: ARR, last month's NRR and GRR, accounts at risk, SLA adherence.

"Last month" is the latest month in the mart (the as-of month for
nrr_summary; the latest month with tickets for sla_adherence).

Example::

    >>> [h.label for h in headlines(marts)]
    ['ARR', 'NRR', 'GRR', 'High/critical churn risk', 'SLA adherence']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pandas as pd

from novacrm_spark.report.charts.revenue import by_month
from novacrm_spark.report.charts.style import NO_DATA, is_empty, money, pct
from novacrm_spark.report.charts.support import dimension, overall_adherence


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    detail: str


def headlines(marts: Mapping[str, pd.DataFrame]) -> list[Headline]:
    """The five header numbers, each "no data" when its mart is empty."""
    return [
        *_revenue(marts.get("nrr_summary")),
        _at_risk(marts.get("churn_risk_view")),
        _sla(marts.get("sla_adherence")),
    ]


def _revenue(nrr: pd.DataFrame | None) -> list[Headline]:
    if is_empty(nrr, "revenue_month"):
        return [Headline(name, NO_DATA, "") for name in ("ARR", "NRR", "GRR")]
    last = by_month(nrr).iloc[-1]
    month = f"{last['revenue_month']:%b %Y}"
    return [
        Headline("ARR", money(last["ending_arr"]), f"ending ARR, {month} ({last['paying_accounts']:.0f} paying)"),
        Headline("NRR", pct(last["nrr_pct"]), f"net revenue retention, {month}"),
        Headline("GRR", pct(last["grr_pct"]), f"gross revenue retention, {month}"),
    ]


def _at_risk(churn: pd.DataFrame | None) -> Headline:
    name = "High/critical churn risk"
    if is_empty(churn, "risk_level"):
        return Headline(name, NO_DATA, "")
    risky = churn[churn["risk_level"].isin(["high", "critical"])]
    detail = f"of {len(churn)} active accounts, {money(risky['current_arr'].sum())} ARR"
    return Headline(name, f"{len(risky)}", detail)


def _sla(sla: pd.DataFrame | None) -> Headline:
    name = "SLA adherence"
    if is_empty(sla, "dimension_type") or not (sla["dimension_type"] == "priority").any():
        return Headline(name, NO_DATA, "")
    last = overall_adherence(dimension(sla, "priority")).iloc[-1]
    detail = f"{last['within_sla']:.0f} of {last['resolved_tickets']:.0f} resolved tickets, {last['month']:%b %Y}"
    return Headline(name, pct(last["sla_adherence_pct"]), detail)
