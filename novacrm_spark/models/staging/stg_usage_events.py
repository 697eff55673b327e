"""stg_usage_events: one cleaned, typed row per product usage event."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.columns import event_category, parse_timestamp
from novacrm_spark.models.staging._validation import SourceRules, split, typed, validate
from novacrm_spark.model import StagingResult, model
from novacrm_spark.sources import SOURCES

# event_name has no domain check on purpose: new product events appear over
# time, so an unknown name is kept (category "other") and a warning counts them.
RULES = SourceRules(
    source=SOURCES["usage_events"],
    required=("account_id", "user_id", "event_name", "event_timestamp"),
    codes=("event_name",),
    parsers={"event_timestamp": parse_timestamp},
    payloads=("properties",),  # the quarantine keeps it; staging has no use for it
)


@model
def stg_usage_events(
    raw_usage_events: DataFrame, stg_accounts: DataFrame, *, loaded_at: dt.datetime
) -> StagingResult:
    """One row per accepted event with its date, hour (0-23) and product-area category.

    Example: ``api_call`` at ``2024-03-05T14:10:00`` -> event_date 2024-03-05, event_hour 14, ``advanced``.
    """
    validated = validate(raw_usage_events, RULES, stg_accounts)
    ts = typed("event_timestamp")
    return split(
        validated,
        RULES,
        [
            "event_id",
            "account_id",
            "user_id",
            "event_name",
            ts.alias("event_timestamp"),
            F.to_date(ts).alias("event_date"),
            F.hour(ts).alias("event_hour"),
            event_category("event_name").alias("event_category"),
        ],
        loaded_at,
    )
