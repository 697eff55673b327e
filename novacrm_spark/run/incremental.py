"""Incremental usage runs: an object that exists only under ``--incremental``.

It owns the raw usage files after the watermark, the watermark itself and the
event months the new files touch. ``stg_usage_events`` is built from the new
files only: their accepted rows are merged with the published table (copies
dropped, conflicting ids quarantined) and only the touched months replaced;
``fct_usage`` then rebuilds those months alone (a day's row depends on that
day's events only). The pure pieces live in :mod:`novacrm_spark.incremental`.

Example::

    >>> increment = UsageIncrement.start(store, progress)
    >>> files = increment.select(all_usage_files)        # after the watermark
    >>> increment.builds("stg_usage_events")
    True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame

from novacrm_spark import incremental as inc
from novacrm_spark.errors import SelectionError
from novacrm_spark.run.results import Progress
from novacrm_spark.run.watermark import LEGACY_FILE, read_watermark, remove_legacy_watermark, stage_watermark
from novacrm_spark.run.watermark import TABLE as WATERMARK
from novacrm_spark.sources import RawFile
from novacrm_spark.store import StagedWrite, TableStore
from novacrm_spark.store.manifest import PublishedTables, Table

EVENTS, FACT = "stg_usage_events", "fct_usage"

def leaves_fact_behind(store: TableStore | PublishedTables, names: set[str]) -> bool:
    """True when ``names`` rebuild stg_usage_events but not the published fct_usage built from it."""
    return EVENTS in names and FACT not in names and store.exists("core", FACT)

@dataclass
class UsageIncrement:
    store: TableStore
    previous: inc.Watermark | None
    progress: Progress
    files: list[RawFile] | None = None
    months: list[dt.date] | None = None  # replaced by stg_usage_events; fct_usage follows
    written: DataFrame | None = field(default=None, repr=False)  # the new rows of stg_usage_events

    @classmethod
    def start(cls, store: TableStore, progress: Progress) -> UsageIncrement:
        """The increment after the last complete run's watermark."""
        return cls(store, read_watermark(PublishedTables(store)), progress)

    @property
    def active(self) -> bool:
        """Incremental usage needs a recorded watermark and a published stg_usage_events."""
        return self.previous is not None and self.store.exists("staging", EVENTS)

    def check_selection(self, names: set[str]) -> None:
        """Events and fact move together, or the watermark would pass events whose days were never rebuilt."""
        if leaves_fact_behind(self.store, names):
            raise SelectionError(
                "--incremental: stg_usage_events is selected without fct_usage; select both "
                "(e.g. --select stg_usage_events+) so the replaced months of fct_usage follow"
            )

    def select(self, files: list[RawFile]) -> list[RawFile]:
        """The files after the watermark (all of them, and a note, when there is nothing to increment)."""
        if not self.active:
            self.progress("incremental: no watermark or published usage tables yet, so usage is built in full")
            self.files = files
        else:
            self.files = inc.newer_files(files, self.previous)
            self.progress(f"incremental: {len(self.files)} usage file(s) after the watermark {self.previous}")
        return self.files

    def builds(self, name: str) -> bool:
        """Whether this increment builds the model (else it is built in full)."""
        if name == EVENTS:
            return self.active
        return name == FACT and self.months is not None and self.store.exists("core", FACT)

    def new_events(self, published: DataFrame, accepted: DataFrame, quarantined: DataFrame,
                   cleaned_raw: DataFrame, loaded_at: dt.datetime) -> tuple[DataFrame, DataFrame, int]:
        """The rows stg_usage_events gets (the replaced months: kept + new), the new quarantine rows,
        and how many events are new. Sets :attr:`months`."""
        to_add, conflicting = inc.merge_new_events(published, accepted)
        new_quarantine = quarantined.unionByName(inc.conflict_quarantine(cleaned_raw, conflicting, loaded_at))
        # A handful of month dates: the partitions this run replaces, and the new rows each gets.
        counted = inc.affected_months(to_add, new_quarantine).collect()
        self.months = sorted(r[0] for r in counted)
        added = sum(int(r[1]) for r in counted)
        rows = inc.rows_of_months(published, self.months).unionByName(inc.with_event_month(to_add))
        return rows, new_quarantine, added

    def message(self) -> str:
        return f"incremental: replaced month(s) {', '.join(map(str, self.months or [])) or 'none'}"

@dataclass
class WatermarkPlan:
    """What a run that read raw usage files does to the watermark (see :mod:`~novacrm_spark.run.watermark`).

    Planned before publishing: :meth:`stage` gives the watermark table's write,
    which ``publish_run`` commits with the run's tables; :meth:`report` says what
    it became. A full rebuild of stg_usage_events without fct_usage (say
    ``--layer staging``) forgets the watermark instead (an empty table): the
    published fct_usage no longer matches the events up to it, so the next
    incremental run must rebuild both in full.
    """

    files: list[RawFile]
    active: bool  # an increment was built
    previous: inc.Watermark | None
    new: inc.Watermark | None  # the watermark once the run is published
    cleared: bool
    write: bool  # the table needs a new version (a change, or the first table of a legacy watermark)
    months: list[dt.date] | None
    warehouse: str

    @classmethod
    def of(cls, published: PublishedTables, files: list[RawFile] | None, increment: UsageIncrement | None,
           selected: set[str]) -> WatermarkPlan | None:
        """None when the run read no usage file (the watermark stays as it is)."""
        if files is None:
            return None
        active = increment is not None and increment.active
        previous = increment.previous if increment is not None else read_watermark(published)
        new = inc.Watermark.of(files)
        if active and new is None:
            new = previous  # no new file: the watermark stays
        cleared = not active and leaves_fact_behind(published, selected)
        if cleared:
            new = None
        write = new != previous or (new is not None and not published.exists(*WATERMARK))
        return cls(files, active, previous, new, cleared, write, increment.months if increment else None,
                   published.warehouse)

    def stage(self, store: TableStore) -> list[tuple[Table, StagedWrite]]:
        """The watermark table's write for ``publish_run``, when it changes."""
        return [(WATERMARK, stage_watermark(store, self.new))] if self.write else []

    def report(self, published: bool, progress: Progress) -> dict[str, Any]:
        """The ``watermark`` entry of run_results.json; after a published run, its notes."""
        if published and self.cleared:
            progress("incremental: usage watermark cleared (stg_usage_events was rebuilt without fct_usage); "
                     "the next --incremental run builds both in full")
        if published and self.write and remove_legacy_watermark(self.warehouse):
            progress(f"incremental: the usage watermark moved from {LEGACY_FILE} to the table "
                     f"{'.'.join(WATERMARK)}")
        current = self.new if published else self.previous
        return {
            "incremental": self.active,
            "previous": self.previous.as_dict() if self.previous else None,
            "watermark": current.as_dict() if current else None,
            "files_read": [f.name for f in self.files],
            "replaced_months": [m.isoformat() for m in self.months] if self.months is not None else None,
        }
