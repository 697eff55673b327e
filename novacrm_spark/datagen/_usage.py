"""Usage events for one account, vectorised with numpy.

Each day from signup up to :attr:`AccountPlan.usage_end` (exclusive) is an
active day with probability ``ACTIVE_DAY_RATE x engagement`` (weekends
quieter); a churned account's rate and volume fade over the last
``CHURN_DECLINE_DAYS`` before its churn date. Timestamps are business-hour
weighted and rows come out sorted by timestamp.

>>> import datetime as dt, numpy as np
>>> from novacrm_spark.datagen._accounts import AccountPlan
>>> plan = AccountPlan(1, "ACC-0001", "Acme", "retail", 12, "growth", "growth", "europe",
...                    "Ann", dt.date(2024, 6, 1), "active", dt.date(2025, 1, 31))
>>> cols = draw_events(np.random.Generator(np.random.PCG64(5)), plan)
>>> len(cols.names) == len(cols.timestamps) > 0, cols.timestamps[0][:4]
(True, '2024')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from . import _constants as C
from ._accounts import AccountPlan

_EPOCH = dt.date(1970, 1, 1)
_NAMES = np.array(C.EVENT_NAMES, dtype=object)
_MIX = {tier: C.normalised(w) for tier, w in C.EVENT_MIX.items()}
_HOUR_P = C.normalised(C.HOUR_WEIGHTS)
_PROPS = {C.EVENT_NAMES.index(name): np.array(pool, dtype=object) for name, pool in C.EVENT_PROPERTIES.items()}


@dataclass(frozen=True, slots=True)
class EventColumns:
    """Parallel column lists of one account's events (everything but event_id)."""

    user_ids: list[str]
    names: list[str]
    timestamps: list[str]
    properties: list[str]


def _epoch_day(day: dt.date) -> int:
    return (day - _EPOCH).days


def _empty() -> EventColumns:
    return EventColumns([], [], [], [])


def draw_events(rng: np.random.Generator, plan: AccountPlan) -> EventColumns:
    """All events of ``plan``'s account, sorted by timestamp."""
    first, end = _epoch_day(plan.signup), _epoch_day(plan.usage_end)
    if end <= first:
        return _empty()
    tier = plan.tier
    days = np.arange(first, end, dtype=np.int64)
    engagement = rng.gamma(C.ENGAGEMENT_SHAPE, 1.0 / C.ENGAGEMENT_SHAPE)
    rate = np.full(days.size, C.ACTIVE_DAY_RATE * engagement)
    rate[((days + 3) % 7) >= 5] *= C.WEEKEND_FACTOR  # 1970-01-01 was a Thursday
    fade = np.ones(days.size)
    if plan.churn_date is not None:
        fade = np.clip((end - days) / C.CHURN_DECLINE_DAYS, C.CHURN_DECLINE_FLOOR, 1.0)
    active = rng.random(days.size) < np.minimum(rate * fade, 1.0)
    if not active.any():
        return _empty()
    lo, hi = C.DAILY_EVENTS[tier]
    volume = np.ceil(rng.integers(lo, hi + 1, size=int(active.sum())) * fade[active]).astype(np.int64)
    day_of = np.repeat(days[active], volume)
    n = day_of.size

    seconds = rng.choice(24, size=n, p=_HOUR_P) * 3600 + rng.integers(0, 3600, size=n)
    order = np.argsort(day_of * 86400 + seconds, kind="stable")
    stamps = (day_of * 86400 + seconds)[order].astype("datetime64[s]")
    text = np.datetime_as_string(stamps, unit="s").astype(object)
    with_fraction = rng.random(n) < C.EVENT_FRACTION_RATE
    if with_fraction.any():
        micros = rng.integers(1, 1_000_000, size=int(with_fraction.sum()))
        precise = stamps[with_fraction].astype("datetime64[us]") + micros.astype("timedelta64[us]")
        text[with_fraction] = np.datetime_as_string(precise, unit="us")

    lo_u, hi_u = C.USERS[tier]
    n_users = int(rng.integers(lo_u, hi_u + 1))
    user_weights = rng.dirichlet(np.ones(n_users))
    users = np.array([f"{plan.account_id}-U{u + 1:02d}" for u in range(n_users)], dtype=object)
    user_ids = users[rng.choice(n_users, size=n, p=user_weights)]

    name_idx = rng.choice(len(_NAMES), size=n, p=_MIX[tier])
    props = np.full(n, "", dtype=object)
    for idx, pool in _PROPS.items():
        mask = name_idx == idx
        if mask.any():
            props[mask] = pool[rng.integers(0, pool.size, size=int(mask.sum()))]
    return EventColumns(user_ids.tolist(), _NAMES[name_idx].tolist(), text.tolist(), props.tolist())
