"""Subscriptions and the monthly invoices they produce, for one account.

A subscription is *active on* day ``d`` when ``start <= d`` and (no end or
``d < end``): the end date is exclusive, so on an upgrade date only the new
platform subscription counts and on a churn date nothing does. An invoice is
written on the signup day-of-month (clamped to the month's length) of each
month in which that sum of billable MRR is positive; its amount is that sum
and its ``line_items`` the products in :data:`PRODUCTS` order.

>>> import datetime as dt, numpy as np
>>> from novacrm_spark.datagen._accounts import AccountPlan
>>> plan = AccountPlan(1, "ACC-0001", "Acme", "retail", 12, "starter", "starter", "europe",
...                    "Ann", dt.date(2024, 10, 31), "active", dt.date(2025, 1, 31))
>>> rng = np.random.Generator(np.random.PCG64(3))
>>> subs = draw_subscriptions(rng, plan)
>>> subs[0].product, subs[0].mrr
('novacrm_platform', 49)
>>> [i.day.isoformat() for i in draw_invoices(rng, plan, subs)][:3]
['2024-10-31', '2024-11-30', '2024-12-31']
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np

from . import _constants as C
from ._accounts import AccountPlan

_DAY = dt.timedelta(days=1)
_PRODUCT_ORDER = {name: i for i, name in enumerate(C.PRODUCTS)}
_TAIL_CODES, _TAIL_P = C.codes_and_probs(C.CHURNED_TAIL_STATUS)


@dataclass(frozen=True, slots=True)
class Subscription:
    product: str
    tier: str
    mrr: int
    start: dt.date
    end: dt.date | None
    status: str

    def active_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class Invoice:
    day: dt.date
    amount: int
    line_items: str
    status: str


def draw_subscriptions(rng: np.random.Generator, plan: AccountPlan) -> list[Subscription]:
    """The account's platform subscription(s) and add-ons, ordered by start then product."""
    as_of, signup, tier0 = plan.as_of, plan.signup, plan.signup_tier
    subs: list[Subscription] = []
    if plan.status == "trial":
        end = signup + C.TRIAL_DAYS * _DAY
        subs.append(Subscription(C.PLATFORM, tier0, 0, signup, end if end <= as_of else None, "trial"))
        return subs
    price = C.PLATFORM_PRICE
    if plan.upgrade_date is not None:
        up = plan.upgrade_date
        subs.append(Subscription(C.PLATFORM, tier0, price[tier0], signup, up, "upgraded"))
        subs.append(Subscription(C.PLATFORM, plan.tier, price[plan.tier], up, None, "active"))
    elif plan.churn_date is not None:
        subs.append(Subscription(C.PLATFORM, tier0, price[tier0], signup, plan.churn_date, "cancelled"))
    else:
        subs.append(Subscription(C.PLATFORM, tier0, price[tier0], signup, None, "active"))

    boost = C.ENTERPRISE_ADDON_BOOST if plan.tier == "enterprise" else 1.0
    for product, mrr, share in C.ADDONS:
        if rng.random() >= share * boost:
            continue
        start = signup + int(rng.integers(C.ADDON_START_DAYS[0], C.ADDON_START_DAYS[1] + 1)) * _DAY
        if start > as_of or (plan.churn_date is not None and start >= plan.churn_date):
            continue
        end, status = None, "active"
        if rng.random() < C.ADDON_CANCEL_RATE:
            lo, hi = C.ADDON_CANCEL_AFTER_DAYS
            cancel = start + int(rng.integers(lo, hi + 1)) * _DAY
            if cancel <= as_of and (plan.churn_date is None or cancel < plan.churn_date):
                end, status = cancel, "cancelled"
        if end is None and plan.churn_date is not None:
            end, status = plan.churn_date, "cancelled"
        subs.append(Subscription(product, plan.tier_on(start), mrr, start, end, status))
    subs.sort(key=lambda s: (s.start, _PRODUCT_ORDER[s.product]))
    return subs


def _billing_days(signup: dt.date, as_of: dt.date) -> list[dt.date]:
    days = []
    year, month = signup.year, signup.month
    while (year, month) <= (as_of.year, as_of.month):
        day = dt.date(year, month, min(signup.day, calendar.monthrange(year, month)[1]))
        if signup <= day <= as_of:
            days.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def draw_invoices(rng: np.random.Generator, plan: AccountPlan, subs: list[Subscription]) -> list[Invoice]:
    """Monthly invoices (dates ascending); statuses and billing gaps drawn from ``rng``."""
    billable = [s for s in subs if s.mrr > 0]
    bills: list[tuple[dt.date, int, str]] = []
    for day in _billing_days(plan.signup, plan.as_of):
        active = sorted((s for s in billable if s.active_on(day)), key=lambda s: _PRODUCT_ORDER[s.product])
        if active:
            bills.append((day, sum(s.mrr for s in active), "|".join(s.product for s in active)))
    if not bills:
        return []
    if rng.random() < C.BILLING_GAP_RATE and len(bills) >= 7:
        skip = int(rng.integers(1, 3))
        first = int(rng.integers(1, len(bills) - skip - 3 + 1))
        del bills[first : first + skip]
    statuses = np.where(rng.random(len(bills)) < C.INVOICE_OVERDUE_RATE, "overdue", "paid").tolist()
    if plan.status == "churned":
        tail = min(C.CHURNED_TAIL, len(bills))
        picks = rng.choice(len(_TAIL_CODES), size=tail, p=_TAIL_P)
        statuses[len(bills) - tail :] = [_TAIL_CODES[i] for i in picks]
    elif plan.suspend_date is not None:
        cutoff = plan.suspend_date - C.SUSPENDED_OVERDUE_DAYS * _DAY
        statuses = ["overdue" if day >= cutoff else st for (day, _, _), st in zip(bills, statuses)]
    return [Invoice(day, amount, items, st) for (day, amount, items), st in zip(bills, statuses)]


def subscription_row(sub_id: str, account_id: str, sub: Subscription, rng: np.random.Generator) -> list[str]:
    """The raw_subscriptions.csv row; now and then a date carries a ``T00:00:00`` time part."""
    start, end = sub.start.isoformat(), sub.end.isoformat() if sub.end else ""
    if rng.random() < C.TIME_PART_RATE:
        start += "T00:00:00"
        end += "T00:00:00" if end else ""
    return [sub_id, account_id, sub.product, sub.tier, f"{sub.mrr}.00", start, end, sub.status]


def invoice_row(invoice_id: str, account_id: str, inv: Invoice) -> list[str]:
    """The raw_invoices.csv row."""
    return [invoice_id, account_id, inv.day.isoformat(), f"{inv.amount}.00", C.CURRENCY, inv.status, inv.line_items]
