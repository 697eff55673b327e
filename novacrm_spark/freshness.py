"""Source freshness: is each source's newest record recent enough for the run's as-of date?

A staging model's contract may give its source a limit, as dbt's source
freshness does (``freshness:`` in ``models/staging/stg_<source>.yml``: a date
column, ``max_staleness_days`` and a severity). :func:`judge` decides, from
each source's oldest and newest date, what a run may do:

* a source whose newest record is more than ``max_staleness_days`` before the
  as-of date is stale: a ``warn`` source prints a WARN line, an ``error``
  source stops the run before anything is published;
* an as-of date after the newest record of every source checked by more than
  the loosest limit of any source (``loosest``), or before the oldest record
  of every source checked, is refused whatever the severities: it lies
  outside the data (``--as-of 2030-01-01`` would publish marts where every
  account looks inactive);
* ``allow_stale`` (``novacrm run --allow-stale``) turns every refusal into a
  warning; a source with no records at all is a warning (nothing to judge).

No Spark here: the dates come from one aggregation (:func:`novacrm_spark.as_of.date_bounds`).

Example::

    >>> limits = {"usage_events": Freshness("event_date", 2, "error")}
    >>> report = judge(dt.date(2025, 1, 31), {"usage_events": (dt.date(2023, 3, 14), dt.date(2025, 1, 20))},
    ...                limits, loosest=31)
    >>> report.refusal()
    'source usage_events is stale: newest record 2025-01-20, 11 days before the as-of date 2025-01-31
    (max_staleness_days 2); pass --allow-stale to build anyway'      # (one line)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from novacrm_spark.quality.tables import Freshness

ALLOW = "pass --allow-stale to build anyway"
Bounds = tuple[dt.date | None, dt.date | None]  # a source's oldest and newest date (None, None: no records)


@dataclass(frozen=True)
class SourceFreshness:
    """One source as judged: its dates, its limit, and pass, warn or error (with why)."""

    source: str
    column: str
    oldest: dt.date | None
    newest: dt.date | None
    days_behind: int | None  # as-of date - newest; negative when the data runs past the as-of date
    max_staleness_days: int
    severity: str
    status: str  # pass | warn | error
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        entry = asdict(self)
        entry["oldest"], entry["newest"] = _iso(self.oldest), _iso(self.newest)
        return entry


@dataclass
class FreshnessReport:
    as_of_date: dt.date
    sources: list[SourceFreshness]
    allow_stale: bool = False
    as_of_problem: str | None = None  # the as-of date lies after or before all the data
    refused: list[str] = field(default_factory=list)  # what stops the run (empty with allow_stale)

    def refusal(self) -> str | None:
        """The one error line's text, or None when the run may go on."""
        return f"{'; '.join(self.refused)}; {ALLOW}" if self.refused else None

    def warnings(self) -> list[str]:
        """One line per problem the run goes on with (a refusal's problems when ``allow_stale``)."""
        allowed = " (building anyway: --allow-stale)"
        lines = [self.as_of_problem + allowed] if self.as_of_problem and self.allow_stale else []
        for source in self.sources:
            if source.status == "warn":
                refused_otherwise = source.severity == "error" and source.newest is not None
                lines.append(source.message + (allowed if refused_otherwise else ""))
        return lines

    def as_dict(self) -> dict[str, Any]:
        """run_results.json's ``freshness`` (docs/run_results.md)."""
        return {"as_of_date": self.as_of_date.isoformat(), "allow_stale": self.allow_stale,
                "as_of_problem": self.as_of_problem, "sources": [s.as_dict() for s in self.sources]}


def judge(as_of: dt.date, bounds: Mapping[str, Bounds], limits: Mapping[str, Freshness],
          allow_stale: bool = False, loosest: int | None = None) -> FreshnessReport:
    """Judge every source of ``limits`` (source name -> its limit) by its ``bounds`` against ``as_of``.

    ``loosest``: the largest ``max_staleness_days`` of any source (default: of ``limits``), how far
    after the newest data an as-of date may lie before it is refused.
    """
    sources = [_source(as_of, name, bounds.get(name, (None, None)), limit, allow_stale)
               for name, limit in limits.items()]
    loosest = max((f.max_staleness_days for f in limits.values()), default=0) if loosest is None else loosest
    report = FreshnessReport(as_of, sources, allow_stale, _as_of_problem(as_of, sources, loosest))
    if not allow_stale:
        stale = [s.message for s in sources if s.status == "error"]
        report.refused = [report.as_of_problem] if report.as_of_problem else stale
    return report


def _source(as_of: dt.date, name: str, bounds: Bounds, limit: Freshness, allow_stale: bool) -> SourceFreshness:
    oldest, newest = bounds
    behind = None if newest is None else (as_of - newest).days
    status, message = "pass", None
    if newest is None:
        status, message = "warn", f"source {name} has no records: its freshness cannot be judged"
    elif behind > limit.max_staleness_days:
        status = "error" if limit.severity == "error" and not allow_stale else "warn"
        message = (f"source {name} is stale: newest record {newest}, {_days(behind)} before the as-of date "
                   f"{as_of} (max_staleness_days {limit.max_staleness_days})")
    return SourceFreshness(name, limit.column, oldest, newest, behind, limit.max_staleness_days, limit.severity,
                           status, message)


def _as_of_problem(as_of: dt.date, sources: list[SourceFreshness], loosest: int) -> str | None:
    dated = [s for s in sources if s.newest is not None]
    if not dated:
        return None
    newest = max(dated, key=lambda s: (s.newest, s.source))
    if (as_of - newest.newest).days > loosest:
        return (f"the as-of date {as_of} is after the data: the newest record of any source checked is "
                f"{newest.newest} ({newest.source}), {_days((as_of - newest.newest).days)} before it, more than "
                f"any source's max_staleness_days (at most {loosest})")
    oldest = min(dated, key=lambda s: (s.oldest, s.source))
    if as_of < oldest.oldest:
        return (f"the as-of date {as_of} is before the data: the oldest record of any source checked is "
                f"{oldest.oldest} ({oldest.source})")
    return None


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()
