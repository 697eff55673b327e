"""Synthetic NovaCRM raw exports: the five CSVs the pipeline reads.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as out:
...     counts = generate(GeneratorConfig(accounts=5, seed=1, dirty_rate=0), out)
>>> counts["raw_accounts.csv"]
5

The world: a B2B SaaS CRM vendor. Each account has its own random stream
(``PCG64`` seeded from ``(seed, account index)``), company names and the six
account owners come from Faker seeded with ``seed``, and dirt has a stream of
its own, so the same config gives byte-identical files and a dirty set is the
clean set of the same seed plus dirt. Nothing reads the wall clock. Rows are
written account by account (memory stays flat); events are drawn with numpy.

Modelling choices where the brief left room:

* Signups: ~97% uniform over ``[start, as_of - 60 days]``; ~3% signed up in
  the last 30 days (``as_of - 29 .. as_of``), 70% of them on a 14-day trial
  (status trial, platform subscription at 0 MRR, no invoices, no add-ons), the
  rest active and paying from day one. Nobody signs up 30-60 days before as_of.
* Older accounts churn (starter 30%, growth 20%, enterprise 8%) 2-18 months
  after signup (never after as_of), ~2% are suspended 7-45 days before as_of
  (usage stops then; invoices from a month before the suspension are overdue),
  the rest are active; 15% of active starter/growth accounts that are at least
  90 days old upgrade one tier 3-12 months after signup. An account's
  ``plan_tier`` and ``employee_count`` reflect its current tier; the signup
  tier (45/35/20%) is the tier of its first platform subscription.
* Subscription end dates are exclusive: a subscription is active on ``d`` when
  ``start <= d < end``. Invoices fall on the signup day-of-month (clamped to
  the month's length) and bill the subscriptions active that day.
* Usage: the brief's "two active days a week" would give ~10x the wanted
  volume, so an account is active on a day with probability ~3.5%
  (x a per-account engagement factor with mean 1, x0.35 on weekends), which
  gives ~15k events for 150 accounts. Events and tickets may fall on the
  as_of day itself (their *date* is <= as_of); every resolved_at is on or
  before as_of (a ticket whose resolution would land later is still open).
* Dirt (``dirty_rate > 0``), see :mod:`._dirt`: real accounts only get
  harmless dirt (code casing/spaces, exact duplicates). Conflicting
  duplicates, null required values and bad signup dates live on extra
  *ghost* accounts (ids after the last real one, signed up in the last 30
  days as trials, no child rows), so no real account or its children are
  quarantined. Tickets for unknown accounts use ids like ``ACC-9999`` above
  every generated id.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from faker import Faker

from . import _constants as C
from . import _dirt, _writer
from ._accounts import AccountPlan, draw_account
from ._billing import draw_invoices, draw_subscriptions, invoice_row, subscription_row
from ._tickets import draw_tickets
from ._usage import draw_events

__all__ = ["GeneratorConfig", "generate"]

_MIN_HISTORY_DAYS = C.QUIET_DAYS


def _as_date(name: str, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{name} must be a date (YYYY-MM-DD), got {value!r}")


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Validated on construction; a bad value raises ``ValueError`` naming it.

    >>> GeneratorConfig(accounts=0)
    Traceback (most recent call last):
    ...
    ValueError: accounts must be an integer >= 1, got 0
    """

    accounts: int = 150
    seed: int = 7
    as_of: dt.date = dt.date(2025, 1, 31)
    start: dt.date = dt.date(2023, 1, 1)
    # 0 disables dirt; else the share of rows that get each kind of dirt. The default keeps
    # the quarantined share of every file under the pipeline's 5% quarantine threshold.
    dirty_rate: float = 0.005

    def __post_init__(self) -> None:
        if isinstance(self.accounts, bool) or not isinstance(self.accounts, int) or self.accounts < 1:
            raise ValueError(f"accounts must be an integer >= 1, got {self.accounts!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        object.__setattr__(self, "as_of", _as_date("as_of", self.as_of))
        object.__setattr__(self, "start", _as_date("start", self.start))
        latest_start = self.as_of - dt.timedelta(days=_MIN_HISTORY_DAYS)
        if not self.start < latest_start:
            raise ValueError(
                f"start must be before as_of - {_MIN_HISTORY_DAYS} days ({latest_start}), got {self.start}"
            )
        rate = self.dirty_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 0.2:
            raise ValueError(f"dirty_rate must be between 0 and 0.2, got {rate!r}")
        object.__setattr__(self, "dirty_rate", float(rate))


class _Ids:
    """Sequential, zero-padded ids (padding widens by itself past the width)."""

    def __init__(self, prefix: str, width: int) -> None:
        self.prefix, self.width, self.last = prefix, width, 0

    def next(self) -> str:
        self.last += 1
        return f"{self.prefix}-{self.last:0{self.width}d}"

    def take(self, n: int) -> list[str]:
        first, self.last = self.last + 1, self.last + n
        return [f"{self.prefix}-{i:0{self.width}d}" for i in range(first, self.last + 1)]


def _owners(fake: Faker) -> tuple[str, ...]:
    names: list[str] = []
    while len(names) < C.N_OWNERS:
        name = fake.name()
        if name not in names:
            names.append(name)
    return tuple(names)


class _Dirt:
    """All dirt state of one run (a no-op when the rate is 0)."""

    def __init__(self, config: GeneratorConfig, acc_width: int, owners: tuple[str, ...], ids: dict[str, _Ids]):
        rate, n = config.dirty_rate, config.accounts
        self.rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(config.seed, spawn_key=(1,))))
        n_ghosts = 3 * max(1, round(rate * n)) if rate > 0 else 0
        ghost_ids = [f"ACC-{n + j + 1:0{acc_width}d}" for j in range(n_ghosts)]
        top = n + n_ghosts
        unknown = 10 ** max(4, len(str(top))) - 1
        if unknown - top < 10:
            unknown = unknown * 10 + 9
        span = min(100, unknown - top)
        self.unknown_account = lambda: f"ACC-{unknown - int(self.rng.integers(span)):0{acc_width}d}"
        if rate > 0:
            fake = Faker("en_US")
            fake.seed_instance(f"novacrm-dirt-{config.seed}")
            as_of = config.as_of

            def template(gid: str) -> list[str]:
                plan = draw_account(self.rng, 0, gid, fake.company(), owners, start=config.start, as_of=as_of)
                signup = as_of - dt.timedelta(days=int(self.rng.integers(C.RECENT_DAYS)))
                row = plan.row()
                row[7], row[8] = signup.isoformat(), "trial"
                return row

            self.accounts = _dirt.ghost_accounts(self.rng, rate, n, ghost_ids, template)
        else:
            self.accounts = _dirt.AccountDirtPlan(frozenset(), frozenset(), {})
        specs = {
            _writer.SUBSCRIPTIONS: (_dirt.SUBSCRIPTIONS, ids["SUB"]),
            _writer.INVOICES: (_dirt.INVOICES, ids["INV"]),
            _writer.EVENTS: (_dirt.EVENTS, ids["EVT"]),
            _writer.TICKETS: (_dirt.TICKETS, ids["TKT"]),
        }
        self.files = {
            name: _dirt.FileDirt(self.rng, rate, spec, fresh_key=gen.next, unknown_account=self.unknown_account)
            for name, (spec, gen) in specs.items()
        }


def generate(
    config: GeneratorConfig,
    out_dir: str | Path,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write the five raw CSVs into ``out_dir`` (created if missing); return rows written per file name.

    ``progress``, when given, is called with a short message about every 10%
    of accounts. Row counts include dirt rows.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:
    ...     counts = generate(GeneratorConfig(accounts=3, seed=2), out)
    >>> sorted(counts)[0], counts["raw_accounts.csv"] > 3
    ('raw_accounts.csv', True)
    """
    n = config.accounts
    acc_width = max(4, len(str(n)))
    fake = Faker("en_US")
    fake.seed_instance(config.seed)
    owners = _owners(fake)
    ids = {"SUB": _Ids("SUB", 5), "INV": _Ids("INV", 6), "EVT": _Ids("EVT", 8), "TKT": _Ids("TKT", 5)}
    dirt = _Dirt(config, acc_width, owners, ids)
    step = max(1, math.ceil(n / 10))

    with _writer.RawSink(Path(out_dir)) as sink:
        for index in range(n):
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(config.seed, spawn_key=(0, index))))
            account_id = f"ACC-{index + 1:0{acc_width}d}"
            plan = draw_account(rng, index + 1, account_id, fake.company(), owners,
                                start=config.start, as_of=config.as_of)
            sink.write(_writer.ACCOUNTS, dirt.accounts.rows_for(index, plan.row(), dirt.rng))
            _write_children(sink, dirt, ids, rng, plan)
            if progress is not None and ((index + 1) % step == 0 or index + 1 == n):
                progress(f"datagen: {index + 1}/{n} accounts ({100 * (index + 1) // n}%)")
        for name, file_dirt in dirt.files.items():
            sink.write(name, file_dirt.finish())
    return dict(sink.counts)


def _write_children(sink: _writer.RawSink, dirt: _Dirt, ids: dict[str, _Ids],
                    rng: np.random.Generator, plan: AccountPlan) -> None:
    acc = plan.account_id
    subs = draw_subscriptions(rng, plan)
    sub_rows = [subscription_row(ids["SUB"].next(), acc, s, rng) for s in subs]
    sink.write(_writer.SUBSCRIPTIONS, dirt.files[_writer.SUBSCRIPTIONS].apply(sub_rows))

    inv_rows = [invoice_row(ids["INV"].next(), acc, inv) for inv in draw_invoices(rng, plan, subs)]
    sink.write(_writer.INVOICES, dirt.files[_writer.INVOICES].apply(inv_rows))

    ev = draw_events(rng, plan)
    ev_rows = [
        [eid, acc, user, name, ts, props]
        for eid, user, name, ts, props in zip(ids["EVT"].take(len(ev.names)), ev.user_ids, ev.names,
                                              ev.timestamps, ev.properties)
    ]
    sink.write(_writer.EVENTS, dirt.files[_writer.EVENTS].apply(ev_rows))

    tk_rows = [[ids["TKT"].next(), acc, *fields] for fields in draw_tickets(rng, plan)]
    sink.write(_writer.TICKETS, dirt.files[_writer.TICKETS].apply(tk_rows))
