"""fct_usage: product usage per account and day."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from novacrm_spark.columns import EXACT, hours_from_minutes, round_half_away, whole_minutes_between
from novacrm_spark.model import model
from novacrm_spark.models.core._rules import accounts_as_of, records_as_of

# The five named product areas, in output column order ('other' is not one).
CATEGORIES = ("reporting", "crm_core", "communication", "advanced", "platform")
# Single events tracked on their own: output column -> event_name.
TRACKED_EVENTS = {"api_calls": "api_call", "reports_created": "report_created", "workflows_created": "workflow_created"}


@model
def fct_usage(stg_accounts: DataFrame, stg_usage_events: DataFrame, *, as_of_date: date) -> DataFrame:
    """One row per account and day with events: volume, users, feature breadth and active span.

    Point in time: accounts signed up by D, events with event_date <= D.
    distinct_categories_used counts the five named categories only (events of
    unknown names, category 'other', still count in total_events and
    distinct_features_used). active_hours = round(whole minutes from the
    day's first to last event / 60, 1) (0.0 for a single event);
    feature_breadth_pct = round(distinct_categories_used / 5 x 100, 0) as a
    double; is_power_usage_day = total_events >= 10 and
    distinct_features_used >= 5.

    Example: 3 events by 2 users on 2024-03-01 at 09:00, 09:45:59 and 10:30:30
    (api_call, report_created, mystery_event) give total_events 3,
    active_users 2, distinct_features_used 3, distinct_categories_used 2,
    active_hours 1.5 (90 whole minutes), feature_breadth_pct 40.0.
    """
    accounts = accounts_as_of(stg_accounts, as_of_date)
    events = records_as_of(stg_usage_events, accounts, "event_date", as_of_date)

    category = F.col("event_category")
    daily = events.groupBy("account_id", "event_date").agg(
        F.count(F.lit(1)).cast("long").alias("total_events"),
        # size(collect_set) = count distinct of non-null values, without the row
        # expansion Spark plans for several countDistinct in one aggregation.
        distinct_count("user_id").alias("active_users"),
        distinct_count("event_name").alias("distinct_features_used"),
        *[F.count_if(category == name).alias(f"{name}_events") for name in CATEGORIES],
        *[F.count_if(F.col("event_name") == event).alias(column) for column, event in TRACKED_EVENTS.items()],
        F.min("event_timestamp").alias("first_event_at"),
        F.max("event_timestamp").alias("last_event_at"),
    )

    # The named categories used that day are those with events: no set of categories to build.
    used = sum((F.col(f"{name}_events") > 0).cast("long") for name in CATEGORIES)
    before = daily.columns.index(f"{CATEGORIES[0]}_events")  # the column's place in the contract
    daily = daily.select(*daily.columns[:before], used.alias("distinct_categories_used"), *daily.columns[before:])
    breadth = F.col("distinct_categories_used").cast(EXACT) * F.lit(100) / F.lit(len(CATEGORIES))
    return daily.select(
        "*",
        hours_from_minutes(whole_minutes_between("first_event_at", "last_event_at")).alias("active_hours"),
        round_half_away(breadth, 0).alias("feature_breadth_pct"),
        ((F.col("total_events") >= 10) & (F.col("distinct_features_used") >= 5)).alias("is_power_usage_day"),
    )


def distinct_count(column: Column | str) -> Column:
    """Number of distinct non-null values in a group, as a long."""
    return F.size(F.collect_set(column)).cast("long")
