"""One account's life story: tier, region, signup, churn / upgrade / suspension.

Every other generator (billing, usage, tickets) reads an :class:`AccountPlan`
and never draws the account's attributes again.

>>> import datetime as dt, numpy as np
>>> rng = np.random.Generator(np.random.PCG64(1))
>>> plan = draw_account(rng, 1, "ACC-0001", "Acme Inc", ("Ann",),
...                     start=dt.date(2023, 1, 1), as_of=dt.date(2025, 1, 31))
>>> plan.account_id, plan.signup <= dt.date(2025, 1, 31)
('ACC-0001', True)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from . import _constants as C

_TIERS, _TIER_P = C.codes_and_probs(C.TIER_WEIGHTS)
_REGIONS, _REGION_P = C.codes_and_probs(C.REGION_WEIGHTS)
_INDUSTRIES, _INDUSTRY_P = C.codes_and_probs(C.INDUSTRY_WEIGHTS)


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """The facts about one account that all its child records agree with."""

    number: int
    account_id: str
    company_name: str
    industry: str
    employee_count: int
    signup_tier: str
    tier: str  # current tier (after an upgrade, if any)
    region: str
    owner: str
    signup: dt.date
    status: str
    as_of: dt.date
    churn_date: dt.date | None = None
    upgrade_date: dt.date | None = None
    suspend_date: dt.date | None = None

    @property
    def usage_end(self) -> dt.date:
        """First day without product usage (exclusive end; as_of + 1 when still using)."""
        if self.churn_date is not None:
            return self.churn_date
        if self.suspend_date is not None:
            return self.suspend_date
        return self.as_of + dt.timedelta(days=1)

    def tier_on(self, day: dt.date) -> str:
        """The account's plan tier on ``day``."""
        if self.upgrade_date is not None and day >= self.upgrade_date:
            return self.tier
        return self.signup_tier

    def row(self) -> list[str]:
        """The raw_accounts.csv row."""
        return [
            self.account_id,
            self.company_name,
            self.industry,
            str(self.employee_count),
            self.tier,
            self.owner,
            self.region,
            self.signup.isoformat(),
            self.status,
        ]


def _between(rng: np.random.Generator, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi]."""
    return int(rng.integers(lo, hi + 1))


def _employees(rng: np.random.Generator, tier: str) -> int:
    lo, hi = C.EMPLOYEES[tier]
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def draw_account(
    rng: np.random.Generator,
    number: int,
    account_id: str,
    company_name: str,
    owners: tuple[str, ...],
    *,
    start: dt.date,
    as_of: dt.date,
) -> AccountPlan:
    """Draw one account; all randomness comes from ``rng`` (the account's own stream)."""
    tier = _TIERS[rng.choice(len(_TIERS), p=_TIER_P)]
    region = _REGIONS[rng.choice(len(_REGIONS), p=_REGION_P)]
    industry = _INDUSTRIES[rng.choice(len(_INDUSTRIES), p=_INDUSTRY_P)]
    owner = owners[int(rng.integers(len(owners)))]
    day = dt.timedelta(days=1)
    churn = upgrade = suspend = None
    current = tier
    if rng.random() < C.RECENT_SHARE:
        signup = as_of - _between(rng, 0, C.RECENT_DAYS - 1) * day
        status = "trial" if rng.random() < C.RECENT_TRIAL_SHARE else "active"
    else:
        window = (as_of - dt.timedelta(days=C.QUIET_DAYS) - start).days
        signup = start + _between(rng, 0, window) * day
        age = (as_of - signup).days
        u = rng.random()
        if u < C.CHURN_RATE[tier]:
            status = "churned"
            lo, hi = C.CHURN_AFTER_DAYS
            churn = signup + _between(rng, lo, min(hi, age)) * day
        elif u < C.CHURN_RATE[tier] + C.SUSPENDED_RATE:
            status = "suspended"
            suspend = as_of - _between(rng, *C.SUSPENDED_DAYS_AGO) * day
        else:
            status = "active"
            lo, hi = C.UPGRADE_AFTER_DAYS
            if tier in C.NEXT_TIER and age >= lo and rng.random() < C.UPGRADE_RATE:
                upgrade = signup + _between(rng, lo, min(hi, age)) * day
                current = C.NEXT_TIER[tier]
    return AccountPlan(
        number=number,
        account_id=account_id,
        company_name=company_name,
        industry=industry,
        employee_count=_employees(rng, current),
        signup_tier=tier,
        tier=current,
        region=region,
        owner=owner,
        signup=signup,
        status=status,
        as_of=as_of,
        churn_date=churn,
        upgrade_date=upgrade,
        suspend_date=suspend,
    )
