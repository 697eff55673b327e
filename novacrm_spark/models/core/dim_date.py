"""dim_date: the calendar, one row per day."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.columns import month_start, year_month
from novacrm_spark.model import model


@model
def dim_date(
    stg_accounts: DataFrame,
    stg_subscriptions: DataFrame,
    stg_invoices: DataFrame,
    stg_usage_events: DataFrame,
    stg_support_tickets: DataFrame,
    *,
    as_of_date: date,
) -> DataFrame:
    """One row per calendar day from Jan 1 of the earliest data year to Dec 31 of the year after the as-of date.

    The earliest date is the minimum over every accepted date or timestamp
    column of staging (signup_date, start_date, end_date, invoice_date,
    event_timestamp, created_at, resolved_at), over all staging rows, not only
    the point-in-time ones: the calendar must cover every date a later run
    could see. If there are no dates at all (or all are after D) the range
    starts on Jan 1 of D's year. Names are English (Spark's formatter locale);
    week_number is the ISO week (Jan 1 may be in week 52/53), day_of_week is
    1 = Sunday ... 7 = Saturday.

    Example: with earliest date 2023-05-10 and D = 2024-06-30 the table runs
    2023-01-01 .. 2025-12-31; 2024-03-09 is a Saturday: day_of_week 7,
    day_name "Saturday", is_weekend true, week_number 10, year_month "2024-03".
    """
    dates = (
        stg_accounts.select(F.col("signup_date").alias("d"))
        .unionByName(stg_subscriptions.select(F.col("start_date").alias("d")))
        .unionByName(stg_subscriptions.select(F.col("end_date").alias("d")))
        .unionByName(stg_invoices.select(F.col("invoice_date").alias("d")))
        .unionByName(stg_usage_events.select(F.to_date("event_timestamp").alias("d")))
        .unionByName(stg_support_tickets.select(F.to_date("created_at").alias("d")))
        .unionByName(stg_support_tickets.select(F.to_date("resolved_at").alias("d")))
    )
    as_of = F.lit(as_of_date)
    # least() ignores nulls, so an empty input falls back to D's year.
    earliest = F.least(F.min("d"), as_of)
    bounds = dates.agg(
        F.make_date(F.year(earliest), F.lit(1), F.lit(1)).alias("start_day"),
        F.make_date(F.year(as_of) + 1, F.lit(12), F.lit(31)).alias("end_day"),
    )
    days = bounds.select(F.explode(F.sequence("start_day", "end_day")).alias("date_day"))

    d = F.col("date_day")
    day_of_week = F.dayofweek(d)
    return days.select(
        d,
        F.year(d).alias("year"),
        F.quarter(d).alias("quarter"),
        F.month(d).alias("month_number"),
        F.date_format(d, "MMMM").alias("month_name"),
        year_month(d).alias("year_month"),
        F.weekofyear(d).alias("week_number"),
        day_of_week.alias("day_of_week"),
        F.date_format(d, "EEEE").alias("day_name"),
        F.dayofmonth(d).alias("day_of_month"),
        day_of_week.isin(1, 7).alias("is_weekend"),
        month_start(d).alias("first_day_of_month"),
        F.last_day(d).alias("last_day_of_month"),
        F.trunc(d, "quarter").alias("first_day_of_quarter"),
        F.trunc(d, "year").alias("first_day_of_year"),
    )
