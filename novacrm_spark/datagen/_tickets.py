"""Support tickets for one account.

Tickets arrive at a monthly rate by tier (churned accounts file more, with
more bugs and lower CSAT) between signup and churn (or as_of). Resolution time
is a multiple of the priority's SLA target: late (1.2-3x) for ~15%, else
0.2-0.95x. A ticket stays open/escalated (no resolved_at, no CSAT) with a
probability that is higher for recent tickets, or when its resolution would
fall after as_of, so every resolved_at is on or before as_of.

>>> import datetime as dt, numpy as np
>>> from novacrm_spark.datagen._accounts import AccountPlan
>>> plan = AccountPlan(1, "ACC-0001", "Acme", "retail", 900, "enterprise", "enterprise",
...                    "europe", "Ann", dt.date(2023, 6, 1), "active", dt.date(2025, 1, 31))
>>> rows = draw_tickets(np.random.Generator(np.random.PCG64(2)), plan)
>>> len(rows) > 0, {r[4] for r in rows} <= {"open", "resolved", "escalated"}
(True, True)
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import _constants as C
from ._accounts import AccountPlan

_PRIORITIES, _PRIORITY_P = C.codes_and_probs(C.PRIORITY_WEIGHTS)
_HOUR_P = C.normalised(C.HOUR_WEIGHTS)
_CATEGORY_P = {kind: C.normalised(w) for kind, w in C.CATEGORY_MIX.items()}
_SLA = np.array([C.SLA_HOURS[p] for p in _PRIORITIES], dtype=float)
_ESCALATED = np.array([C.ESCALATED_SHARE[p] for p in _PRIORITIES])

# (created_at, resolved_at, priority, category, status, satisfaction_score)
TicketFields = tuple[str, str, str, str, str, str]


def draw_tickets(rng: np.random.Generator, plan: AccountPlan) -> list[TicketFields]:
    """The account's tickets, ordered by created_at (ids are assigned by the caller)."""
    end = plan.churn_date or plan.as_of + dt.timedelta(days=1)  # exclusive
    life = (end - plan.signup).days
    if life <= 0:
        return []
    churned = plan.status == "churned"
    rate = C.TICKETS_PER_MONTH[plan.tier] * (C.CHURNED_TICKET_FACTOR if churned else 1.0)
    n = int(rng.poisson(rate * life / 30.44))
    if n == 0:
        return []
    offsets = np.sort(rng.integers(0, life, size=n) * 86400 + rng.choice(24, size=n, p=_HOUR_P) * 3600
                      + rng.integers(0, 3600, size=n))
    prio = rng.choice(len(_PRIORITIES), size=n, p=_PRIORITY_P)
    category = rng.choice(len(C.CATEGORIES), size=n, p=_CATEGORY_P["churned" if churned else "healthy"])
    late = rng.random(n) < C.LATE_RATE
    factor = np.where(late, rng.uniform(*C.LATE_FACTOR, size=n), rng.uniform(*C.ON_TIME_FACTOR, size=n))
    duration_us = np.round(_SLA[prio] * factor * 3600.0 * 1e6).astype(np.int64)
    whole = rng.random(n) >= C.RESOLVED_FRACTION_RATE
    duration_us[whole] = duration_us[whole] // 1_000_000 * 1_000_000
    escalate = rng.random(n) < _ESCALATED[prio]
    u_unresolved = rng.random(n)
    rated = rng.random(n) >= C.NO_CSAT_RATE
    mean = C.CSAT_MEAN - (C.CSAT_CHURNED_PENALTY if churned else 0.0) - np.where(late, C.CSAT_LATE_PENALTY, 0.0)
    csat = np.clip(np.round(rng.normal(mean, C.CSAT_SD), 1), 1.0, 5.0)

    base = dt.datetime.combine(plan.signup, dt.time())
    horizon = dt.datetime.combine(plan.as_of + dt.timedelta(days=1), dt.time())  # resolved_at < this
    rows: list[TicketFields] = []
    for i in range(n):
        created = base + dt.timedelta(seconds=int(offsets[i]))
        resolved = created + dt.timedelta(microseconds=int(duration_us[i]))
        age_days = (horizon - created).total_seconds() / 86400.0
        p_open = C.UNRESOLVED_BASE + C.UNRESOLVED_RECENT * np.exp(-age_days / C.UNRESOLVED_DECAY_DAYS)
        priority = _PRIORITIES[prio[i]]
        if u_unresolved[i] < p_open or resolved >= horizon:
            status = "escalated" if escalate[i] else "open"
            resolved_at = score = ""
        else:
            status, resolved_at = "resolved", resolved.isoformat()
            score = f"{csat[i]:.1f}" if rated[i] else ""
        rows.append((created.isoformat(), resolved_at, priority, C.CATEGORIES[category[i]], status, score))
    return rows
