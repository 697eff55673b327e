"""Deterministic dirt: the defects a real export has, injected into clean rows.

Dirt has its own random stream, so a dirty file is the clean file of the same
seed with rows *altered or added*, never a different world.

Child files (subscriptions, invoices, events, tickets): every clean row gets
each kind of dirt independently with probability ``rate`` (a Bernoulli process
walked with geometric gaps, so cost is per hit, not per row). Kinds that break
a row (null key/required value, unparseable date or amount, negative amount,
unknown event name, unknown account, out-of-domain priority) alter it in
place; ``cosmetic`` pads/recases a code (valid after trim + lower/upper);
``duplicate`` adds an identical copy; ``conflict`` adds a copy with the same
key and one valid column changed. If a kind never hit by the end (tiny
files), :meth:`FileDirt.finish` appends one row of that kind built from the
last clean row (a fresh key for the row-breaking kinds).

Accounts: children depend on them, so only harmless dirt touches real accounts
(``cosmetic`` and exact ``duplicate`` rows, on ``max(1, round(rate * n))``
accounts each). Conflicting duplicates, null required values and bad signup
dates go to extra *ghost* accounts (ids after the last real one, no children),
see :func:`ghost_accounts`.

>>> import numpy as np
>>> dirt = FileDirt(np.random.Generator(np.random.PCG64(0)), 0.2, INVOICES)
>>> rows = [[f"INV-{i:06d}", "ACC-0001", "2024-01-05", "49.00", "USD", "paid", "novacrm_platform"]
...         for i in range(50)]
>>> len(dirt.apply(rows)) >= 50
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import _constants as C

Row = list[str]

BAD_DATES = ("2024-13-45", "12/03/2024", "2024-02-30", "31.12.2024", "not_a_date")
BAD_TIMESTAMPS = ("2024-13-45T10:00:00", "12/03/2024 10:15", "2024-06-04T25:61:00", "not_a_timestamp")
BAD_AMOUNTS = ("1,234.00", "abc", "$149.00", "N/A", "12.5.0")
UNKNOWN_EVENTS = ("ai_assist_used", "ai_assist_used", "mobile_app_opened", "copilot_prompt_sent")
BAD_PRIORITIES = ("p9", "p9", "p0", "urgent")

# Kinds that break a row (the fallback row for them gets a fresh key).
BREAKING = ("null", "bad_date", "bad_amount", "negative_amount", "unknown_event", "unknown_account", "bad_priority")


@dataclass(frozen=True)
class FileSpec:
    """Where each kind of dirt lands in one file's rows (column indexes)."""

    name: str
    kinds: tuple[str, ...]  # applied in this order; duplicate/conflict last
    key: int
    codes: tuple[int, ...]  # lower-case codes that may get cosmetic dirt
    upper_codes: tuple[int, ...]  # upper-case codes (currency)
    nullable: tuple[int, ...]  # the key and required columns
    date: int
    date_is_timestamp: bool
    amount: int | None
    conflict: tuple[int, tuple[str, ...]]  # column and the valid values a conflicting copy may take


_TAIL = ("duplicate", "conflict")
SUBSCRIPTIONS = FileSpec(
    "raw_subscriptions.csv", ("cosmetic", "null", "bad_date", "bad_amount") + _TAIL,
    key=0, codes=(2, 3, 7), upper_codes=(), nullable=(0, 1, 2, 3, 4, 5, 7), date=5,
    date_is_timestamp=False, amount=4, conflict=(4, ("0.00", "29.00", "59.00", "79.00", "149.00", "499.00")),
)
INVOICES = FileSpec(
    "raw_invoices.csv", ("cosmetic", "null", "bad_date", "bad_amount", "negative_amount") + _TAIL,
    key=0, codes=(5,), upper_codes=(4,), nullable=(0, 1, 2, 3, 5), date=2,
    date_is_timestamp=False, amount=3, conflict=(5, ("paid", "overdue", "void")),
)
EVENTS = FileSpec(
    "raw_usage_events.csv", ("cosmetic", "null", "bad_date", "unknown_event") + _TAIL,
    key=0, codes=(3,), upper_codes=(), nullable=(0, 1, 2, 3, 4), date=4,
    date_is_timestamp=True, amount=None, conflict=(3, C.EVENT_NAMES),
)
TICKETS = FileSpec(
    "raw_support_tickets.csv", ("cosmetic", "null", "bad_date", "unknown_account", "bad_priority") + _TAIL,
    key=0, codes=(4, 5, 6), upper_codes=(), nullable=(0, 1, 2, 4, 6), date=2,
    date_is_timestamp=True, amount=None, conflict=(5, C.CATEGORIES),
)


def _pick(rng: np.random.Generator, values: tuple[str, ...]) -> str:
    return values[int(rng.integers(len(values)))]


def cosmetic(rng: np.random.Generator, value: str, upper: bool = False) -> str:
    """A variant of a code that cleans back to it (never equal to it)."""
    if upper:
        forms = (f" {value.lower()}", value.lower(), f"{value.capitalize()} ", f" {value} ")
    else:
        forms = (f" {value.title()} ", value.upper(), value.title(), f" {value}", f"{value}  ", f" {value.upper()} ")
    return _pick(rng, forms)


class FileDirt:
    """Dirt for one child file, applied batch by batch as rows stream out."""

    def __init__(
        self,
        rng: np.random.Generator,
        rate: float,
        spec: FileSpec,
        *,
        fresh_key: Callable[[], str] | None = None,
        unknown_account: Callable[[], str] | None = None,
    ) -> None:
        self.rng, self.rate, self.spec = rng, rate, spec
        self.fresh_key = fresh_key
        self.unknown_account = unknown_account
        self.seen = 0  # clean rows seen so far
        self.hits = dict.fromkeys(spec.kinds, 0)
        self.next_hit = {k: int(rng.geometric(rate)) - 1 for k in spec.kinds} if rate > 0 else {}
        self.last: Row | None = None

    def apply(self, rows: list[Row]) -> list[Row]:
        """Return ``rows`` with this batch's share of dirt (rows are not modified in place)."""
        n = len(rows)
        if self.rate <= 0 or n == 0:
            self.seen += n
            return rows
        hits: dict[int, list[str]] = {}
        end = self.seen + n
        for kind in self.spec.kinds:
            while self.next_hit[kind] < end:
                hits.setdefault(self.next_hit[kind] - self.seen, []).append(kind)
                self.next_hit[kind] += int(self.rng.geometric(self.rate))
        self.seen = end
        clean = next((i for i in range(n - 1, -1, -1) if i not in hits), None)
        if clean is not None:  # the fallback rows of finish() copy a row emitted unaltered
            self.last = list(rows[clean])
        if not hits:
            return rows
        out: list[Row] = []
        prev = 0
        for idx in sorted(hits):
            out.extend(rows[prev:idx])
            out.extend(self._dirty(rows[idx], hits[idx]))
            prev = idx + 1
        out.extend(rows[prev:])
        return out

    def finish(self) -> list[Row]:
        """Rows to append so that every kind occurs at least once."""
        if self.rate <= 0 or self.last is None:
            return []
        extra: list[Row] = []
        for kind in self.spec.kinds:
            if self.hits[kind] == 0:
                row = list(self.last)
                if kind in BREAKING and self.fresh_key is not None:
                    row[self.spec.key] = self.fresh_key()
                emitted = self._dirty(row, [kind])
                extra.extend(emitted[1:] if kind in _TAIL else emitted)
        return extra

    def _dirty(self, row: Row, kinds: list[str]) -> list[Row]:
        row = list(row)
        rng, spec = self.rng, self.spec
        out = [row]
        for kind in kinds:
            self.hits[kind] += 1
            if kind == "cosmetic":
                cols = spec.codes + spec.upper_codes
                col = cols[int(rng.integers(len(cols)))]
                row[col] = cosmetic(rng, row[col].strip().lower(), upper=col in spec.upper_codes)
            elif kind == "null":
                row[spec.nullable[int(rng.integers(len(spec.nullable)))]] = ""
            elif kind == "bad_date":
                row[spec.date] = _pick(rng, BAD_TIMESTAMPS if spec.date_is_timestamp else BAD_DATES)
            elif kind == "bad_amount":
                row[spec.amount] = _pick(rng, BAD_AMOUNTS)
            elif kind == "negative_amount":
                row[spec.amount] = "-" + row[spec.amount].lstrip("-")
            elif kind == "unknown_event":
                row[3], row[5] = _pick(rng, UNKNOWN_EVENTS), ""  # a new event: no known properties
            elif kind == "unknown_account":
                row[1] = self.unknown_account() if self.unknown_account else "ACC-9999"
            elif kind == "bad_priority":
                row[4] = _pick(rng, BAD_PRIORITIES)
            elif kind == "duplicate":
                out.append(list(row))
            elif kind == "conflict":
                col, values = spec.conflict
                current = row[col].strip().lower()
                choices = tuple(v for v in values if v != current)
                variant = list(row)
                variant[col] = _pick(rng, choices)
                out.append(variant)
        return out


@dataclass(frozen=True)
class AccountDirtPlan:
    """Which real accounts get cosmetic / duplicate dirt, and the ghost rows to weave in."""

    cosmetic: frozenset[int]  # 0-based account indexes
    duplicate: frozenset[int]
    ghosts: dict[int, list[Row]]  # emitted after the account with this index

    def rows_for(self, index: int, row: Row, rng: np.random.Generator) -> list[Row]:
        if index in self.cosmetic:
            row = list(row)
            col = (2, 4, 6, 8)[int(rng.integers(4))]  # industry, plan_tier, region, status
            row[col] = cosmetic(rng, row[col])
        out = [row, list(row)] if index in self.duplicate else [row]
        return out + self.ghosts.get(index, [])


def ghost_accounts(
    rng: np.random.Generator, rate: float, n_accounts: int, ids: list[str], template: Callable[[str], Row]
) -> AccountDirtPlan:
    """Plan the account-file dirt; ``ids`` are the ghost ids, ``template(id)`` a valid ghost row.

    Needs ``3 * max(1, round(rate * n_accounts))`` ids: one batch each for
    conflicting duplicates (two rows), a null required value, a bad signup date.
    """
    k = max(1, round(rate * n_accounts))
    cos = frozenset(int(i) for i in rng.choice(n_accounts, size=min(k, n_accounts), replace=False))
    dup = frozenset(int(i) for i in rng.choice(n_accounts, size=min(k, n_accounts), replace=False))
    ghosts: dict[int, list[Row]] = {}
    for j, gid in enumerate(ids):
        row = template(gid)
        kind = j // k
        if kind == 0:
            other = list(row)
            other[3] = str(int(row[3]) + int(rng.integers(1, 50)))  # employee_count differs
            rows = [row, other]
        elif kind == 1:
            row[(0, 1, 4, 7, 8)[int(rng.integers(5))]] = ""
            rows = [row]
        else:
            row[7] = _pick(rng, BAD_DATES)
            rows = [row]
        ghosts.setdefault(int(rng.integers(n_accounts)), []).extend(rows)
    return AccountDirtPlan(cos, dup, ghosts)
