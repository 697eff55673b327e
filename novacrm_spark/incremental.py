"""Incremental usage processing: the pure pieces (watermark, new files, merge, affected months).

``stg_usage_events`` and ``fct_usage`` are partitioned by ``event_month`` (the
first day of the event's month, a ``date`` added after the spec's columns,
because a Delta partition column must be a table column). An incremental run
reads only the raw usage files newer than the watermark, merges their accepted
rows with the published table and replaces only the months they touch.

Example::

    >>> newer_files(files, Watermark(1706745600000, "2024-01-31.csv"))   # files after the watermark
    >>> to_add, conflicts = merge_new_events(published, new_accepted)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Iterable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.bookkeeping import COLLAPSED
from novacrm_spark.columns import parse_timestamp
from novacrm_spark.sources import RawFile

PARTITION_COLUMN = "event_month"
# Partitioned tables -> the date column their event_month comes from.
PARTITIONED_TABLES = {"stg_usage_events": "event_date", "fct_usage": "event_date"}
USAGE_SOURCE = "usage_events"
# Columns that decide whether a re-delivered event is an identical copy (the
# derived columns follow from these; _loaded_at is when, not what).
EVENT_COLUMNS = ("event_id", "account_id", "user_id", "event_name", "event_timestamp")
CONFLICT_REASON = "conflicting duplicate event_id"


@dataclass(frozen=True, order=True)
class Watermark:
    """The last raw usage file processed, in (modification time, file name) order."""

    modification_time: int
    name: str

    @classmethod
    def of(cls, files: Iterable[RawFile]) -> "Watermark | None":
        """The watermark after processing ``files`` (None for no files)."""
        latest = max(files, default=None)
        return None if latest is None else cls(latest.modification_time, latest.name)

    def as_dict(self) -> dict:
        return asdict(self)


def newer_files(files: Iterable[RawFile], watermark: Watermark | None) -> list[RawFile]:
    """Files after the watermark, oldest first (all of them without one).

    Example: with watermark (1000, "b.csv"), files (1000, "a.csv"), (1000, "c.csv"),
    (2000, "a.csv") -> the last two.
    """
    chosen = [f for f in files if watermark is None or (f.modification_time, f.name) > (
        watermark.modification_time, watermark.name)]
    return sorted(chosen)


def with_event_month(df: DataFrame, date_column: str = "event_date") -> DataFrame:
    """``df`` plus ``event_month`` (first day of ``date_column``'s month), as the last column.

    Example: event_date 2024-03-17 -> event_month 2024-03-01.
    """
    if PARTITION_COLUMN in df.columns:
        return df
    return df.withColumn(PARTITION_COLUMN, F.trunc(F.col(date_column), "month"))


def merge_new_events(
    published: DataFrame, new_accepted: DataFrame, columns: Iterable[str] = EVENT_COLUMNS
) -> tuple[DataFrame, DataFrame]:
    """Split newly accepted events against the published ones by event_id.

    Returns ``(to_add, conflicting)``: events whose event_id is not published
    yet, and the event_ids published with different values (those new rows are
    quarantined; the published row stays). Identical copies of published events
    are in neither: they are dropped.

    Example: published e1 (user u1); new e1 (u1), e2 -> to_add [e2], conflicting [];
    new e1 (u9) -> to_add [], conflicting [e1].
    """
    columns = list(columns)
    old = published.select(*[F.col(c).alias(f"_old_{c}") for c in columns])
    joined = new_accepted.join(old, new_accepted["event_id"] == old["_old_event_id"], "left")
    same = F.lit(True)
    for c in columns:
        same = same & F.col(c).eqNullSafe(F.col(f"_old_{c}"))
    old_names = [f"_old_{c}" for c in columns]
    to_add = joined.where(F.col("_old_event_id").isNull()).drop(*old_names)
    conflicting = joined.where(F.col("_old_event_id").isNotNull() & ~same).select("event_id").distinct()
    return to_add, conflicting


def conflict_quarantine(cleaned_raw: DataFrame, conflicting: DataFrame, loaded_at: dt.datetime) -> DataFrame:
    """Quarantine rows (cleaned source text + reason + _loaded_at) for conflicting event_ids."""
    return (
        cleaned_raw.distinct()
        .join(conflicting, "event_id", "left_semi")
        .withColumn("reason", F.lit(CONFLICT_REASON))
        .withColumn("_loaded_at", F.lit(loaded_at).cast("timestamp"))
    )


def affected_months(to_add: DataFrame, quarantined: DataFrame) -> DataFrame:
    """The event months of new accepted and new quarantined rows (those with a valid time),
    with ``added``: how many new accepted rows each month gets.

    Example: to_add in 2024-03 (two rows), a quarantined row in 2024-04 -> (2024-03-01, 2), (2024-04-01, 0).
    """
    added = with_event_month(to_add).select(PARTITION_COLUMN, F.lit(1).alias("added"))
    rejected = quarantined.select(
        F.trunc(F.to_date(parse_timestamp(F.col("event_timestamp"))), "month").alias(PARTITION_COLUMN),
        F.lit(0).alias("added"),
    )
    months = added.unionByName(rejected).where(F.col(PARTITION_COLUMN).isNotNull())
    return months.groupBy(PARTITION_COLUMN).agg(F.sum("added").alias("added"))


def rows_read(validated: DataFrame) -> int:
    """Data rows of the files a staging result was built from: its validated rows plus the
    identical copies collapsed into them (one aggregation)."""
    row = validated.agg(F.count(F.lit(1)).alias("rows"), F.sum(COLLAPSED).alias("collapsed")).first()
    return int(row["rows"]) + int(row["collapsed"] or 0)


def append_quarantine(published: DataFrame, new: DataFrame) -> DataFrame:
    """The published quarantine rows and the new ones, in the new rows' columns.

    A table published before a column was added (``raw_record``) gets it as null.
    """
    return published.unionByName(new, allowMissingColumns=True).select(*new.columns)


def rows_of_months(df: DataFrame, months: list[dt.date]) -> DataFrame:
    """The rows of ``df`` whose event_month is one of ``months``."""
    if not months:
        return df.limit(0)
    return df.where(F.col(PARTITION_COLUMN).isin(*months))
