"""Incremental usage runs: an object that exists only under ``--incremental``.

It owns the raw usage files after the watermark, the watermark itself and the
event months the new files touch. ``stg_usage_events`` is built from the new
files only: their accepted rows are merged with the published table (copies
dropped, conflicting ids quarantined) and only the touched months replaced;
``fct_usage`` then rebuilds those months alone (a day's row depends on that
day's events only). The pure pieces live in :mod:`novacrm_spark.incremental`.

Example::

    >>> increment = UsageIncrement.start(store, settings.warehouse, progress)
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
from novacrm_spark.sources import RawFile
from novacrm_spark.store import TableStore

EVENTS, FACT = "stg_usage_events", "fct_usage"

def leaves_fact_behind(store: TableStore, names: set[str]) -> bool:
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
    def start(cls, store: TableStore, warehouse: str, progress: Progress) -> UsageIncrement:
        return cls(store, inc.read_watermark(warehouse), progress)

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

def record_watermark(
    warehouse: str, store: TableStore, files: list[RawFile] | None, increment: UsageIncrement | None,
    published: bool, selected: set[str], progress: Progress,
) -> dict[str, Any] | None:
    """After a run that published usage, move the watermark past the files it read.

    A full rebuild of stg_usage_events without fct_usage (say ``--layer staging``)
    forgets the watermark instead: the published fct_usage no longer matches the
    events up to it, so the next incremental run must rebuild both in full.
    Written after the run's manifest: a crash in between re-reads files whose
    rows are then identical copies, which the incremental merge drops.
    """
    if files is None:
        return None
    active = increment is not None and increment.active
    previous = increment.previous if increment is not None else inc.read_watermark(warehouse)
    new = inc.Watermark.of(files)
    if active and new is None:
        new = previous  # no new file: the watermark stays
    if published and not active and leaves_fact_behind(store, selected):
        inc.clear_watermark(warehouse)
        progress("incremental: usage watermark cleared (stg_usage_events was rebuilt without fct_usage); "
                 "the next --incremental run builds both in full")
        new = None
    if published and new is not None:
        inc.write_watermark(warehouse, new)
    current = new if published else previous
    months = increment.months if increment is not None else None
    return {
        "incremental": active,
        "previous": previous.as_dict() if previous else None,
        "watermark": current.as_dict() if current else None,
        "files_read": [f.name for f in files],
        "replaced_months": [m.isoformat() for m in months] if months is not None else None,
    }
