"""The run's source check: one graph node after the staging models, before anything is published.

It reads each source's oldest and newest date from the staging tables in one
Spark job, derives the as-of date from them when none is given (and a core or
mart model needs one), and judges each source's freshness against the as-of
date (:mod:`novacrm_spark.freshness`): a WARN line per warning; a refusal
raises :class:`~novacrm_spark.errors.StaleDataError`, so the run stops and
publishes nothing.

The sources checked are those of the staging tables the run builds or reads,
directly or through the models it builds, whose contract sets ``freshness``.
A staging-only run without an as-of date has none to judge against and
checks nothing (staging does not use the as-of date).

Example::

    >>> plan = SourcePlan.of(selection, models, contracts, as_of_given=True)
    >>> as_of_date, report = check_sources(plan, table_of, dt.date(2025, 1, 31), False, print)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from pyspark.sql import DataFrame

from novacrm_spark import as_of
from novacrm_spark.errors import NovaCrmError, StaleDataError
from novacrm_spark.freshness import FreshnessReport, judge
from novacrm_spark.quality.contracts import Contracts, Freshness
from novacrm_spark.registry import Model
from novacrm_spark.run.schedule import Node

NODE = "source_freshness"  # the graph node; it also derives the as-of date when none is set


@dataclass(frozen=True)
class SourcePlan:
    """What the node reads and judges, decided from the selection before the run starts."""

    limits: Mapping[str, Freshness]  # staging model -> its source's limit: the sources checked
    derive: tuple[str, ...]  # staging models whose dates give the as-of date; () when it is given
    selected: frozenset[str]  # the models the run builds
    staging: frozenset[str]  # the staging models among them
    loosest: int  # the largest max_staleness_days of any source

    @classmethod
    def of(cls, selection: Iterable[Model], models: Mapping[str, Model], contracts: Contracts,
           as_of_given: bool) -> SourcePlan | None:
        """None when there is nothing to do: no as-of date and no model needs one, or no source to check."""
        selection = list(selection)
        needs_as_of = any(m.layer != "staging" for m in selection)
        if not as_of_given and not needs_as_of:
            return None
        limits = {name: contracts.for_model(name).freshness for name in staging_upstream(selection, models)}
        limits = {name: limit for name, limit in limits.items() if limit is not None}
        derive = () if as_of_given else as_of.STAGING_INPUTS
        if not limits and not derive:
            return None
        loosest = max((c.freshness.max_staleness_days for c in contracts.tables.values() if c.freshness), default=0)
        staging = frozenset(m.name for m in selection if m.layer == "staging")
        return cls(limits, derive, frozenset(m.name for m in selection), staging, loosest)

    def placed(self, nodes: list[Node]) -> list[Node]:
        """``nodes`` (the selection's, in build order) with this node after the staging models it reads;
        when it derives the as-of date, every node after it waits for it."""
        reads = (set(self.limits) | set(self.derive)) & self.selected
        first = next((i for i, n in enumerate(nodes) if n.name not in self.staging), len(nodes))
        later = [dataclasses.replace(n, after=n.after | {NODE}) if self.derive else n for n in nodes[first:]]
        return [*nodes[:first], Node(NODE, after=frozenset(reads)), *later]


def staging_upstream(selection: Iterable[Model], models: Mapping[str, Model]) -> list[str]:
    """The staging models selected or read by a selected model, directly or through others, by name."""
    found: set[str] = set()
    pending = [m.name for m in selection]
    while pending:
        model = models[pending.pop()]
        if model.layer == "staging":
            found.add(model.name)
        pending.extend(name for name in model.model_inputs if name not in found)
    return sorted(found)


def check_sources(plan: SourcePlan, table_of: Callable[[str], DataFrame | None], as_of_date: dt.date | None,
                  allow_stale: bool, progress: Callable[[str], None]) -> tuple[dt.date, FreshnessReport]:
    """The as-of date (derived when ``as_of_date`` is None) and the sources' freshness against it.

    ``table_of(name)``: a staging table as the run sees it; None for one this run failed to build
    (the run fails anyway; its source is left out).
    """
    frames = {name: table_of(name) for name in {*plan.limits, *plan.derive}}
    pairs = [(name, as_of.AS_OF_COLUMNS[name]) for name in plan.derive]
    pairs += [(name, limit.column) for name, limit in plan.limits.items()]
    bounds = as_of.date_bounds({_key(name, column): (frames[name], column) for name, column in pairs
                                if frames[name] is not None})
    if as_of_date is None:
        as_of_date = as_of.latest_date(bounds, [_key(name, as_of.AS_OF_COLUMNS[name]) for name in plan.derive])
        if as_of_date is None:
            raise NovaCrmError("cannot derive as_of_date: the staging tables hold no dates; pass --as-of")
        progress(f"as_of_date not set: using {as_of_date} (latest date in the data)")
    judged = {name: limit for name, limit in plan.limits.items() if frames[name] is not None}
    report = judge(as_of_date, {_source(name): bounds[_key(name, limit.column)] for name, limit in judged.items()},
                   {_source(name): limit for name, limit in judged.items()}, allow_stale, plan.loosest)
    for line in report.warnings():
        progress(f"WARN {line}")
    refusal = report.refusal()
    if refusal:
        raise StaleDataError(refusal)
    return as_of_date, report


def _key(name: str, column: str) -> str:
    return f"{name}.{column}"


def _source(staging_model: str) -> str:
    return staging_model.removeprefix("stg_")
