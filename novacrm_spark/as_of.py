"""The dates a run reads from its staging tables: each source's oldest and newest, in one Spark job.

They give the run's as-of date when none is configured (the latest date in the
accepted data: signup, invoice, event and ticket-created dates, as the spec
says) and each source's freshness (:mod:`novacrm_spark.freshness`).

Example::

    >>> bounds = date_bounds({"stg_invoices": (stg_invoices, "invoice_date"),
    ...                       "stg_usage_events": (stg_usage_events, "event_date")})
    >>> bounds["stg_usage_events"]
    (datetime.date(2023, 3, 14), datetime.date(2025, 1, 31))
    >>> latest_date(bounds)
    datetime.date(2025, 1, 31)
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Iterable, Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# The staging tables and date columns whose latest date is the as-of date when none is given.
AS_OF_COLUMNS = {
    "stg_accounts": "signup_date",
    "stg_invoices": "invoice_date",
    "stg_usage_events": "event_date",
    "stg_support_tickets": "created_date",  # the date of created_at
}
STAGING_INPUTS = tuple(AS_OF_COLUMNS)

Bounds = tuple[dt.date | None, dt.date | None]


def date_bounds(columns: Mapping[str, tuple[DataFrame, str]]) -> dict[str, Bounds]:
    """Oldest and newest date of each frame's column (a date or timestamp), by key; (None, None) when empty.

    One Spark job, whatever the number of frames: one aggregated row per key comes back.
    """
    if not columns:
        return {}
    parts = [df.select(F.lit(key).alias("key"), F.to_date(F.col(column)).alias("day"))
             for key, (df, column) in columns.items()]
    rows = (
        functools.reduce(DataFrame.unionByName, parts)
        .groupBy("key")
        .agg(F.min("day").alias("oldest"), F.max("day").alias("newest"))
        .collect()  # one row per key
    )
    found = {row["key"]: (row["oldest"], row["newest"]) for row in rows}
    return {key: found.get(key, (None, None)) for key in columns}


def latest_date(bounds: Mapping[str, Bounds], keys: Iterable[str] | None = None) -> dt.date | None:
    """The newest date among ``keys`` (default: all) of ``bounds``; None when none has a date."""
    newest = [bounds[k][1] for k in (bounds if keys is None else keys) if bounds.get(k, (None, None))[1]]
    return max(newest, default=None)

