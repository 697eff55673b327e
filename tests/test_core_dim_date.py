"""dim_date: calendar range and attributes, expected values worked out from a calendar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from novacrm_spark.models.core.dim_date import dim_date

from table_schemas import (
    DIM_DATE as OUT_DDL,
    STG_ACCOUNTS as ACCOUNTS_DDL,
    STG_INVOICES as INVOICES_DDL,
    STG_SUBSCRIPTIONS as SUBSCRIPTIONS_DDL,
    STG_SUPPORT_TICKETS as TICKETS_DDL,
    STG_USAGE_EVENTS as EVENTS_DDL,
)

LOADED = dt.datetime(2025, 2, 1, 6, 0, 0)
AS_OF = dt.date(2024, 6, 30)

EXPECTED_SCHEMA = [
    ("date_day", "date"), ("year", "int"), ("quarter", "int"), ("month_number", "int"), ("month_name", "string"),
    ("year_month", "string"), ("week_number", "int"), ("day_of_week", "int"), ("day_name", "string"),
    ("day_of_month", "int"), ("is_weekend", "boolean"), ("first_day_of_month", "date"),
    ("last_day_of_month", "date"), ("first_day_of_quarter", "date"), ("first_day_of_year", "date"),
]

# Defaults: every date in mid 2024; a test moves one column's value earlier.
DEFAULTS = {
    "signup_date": dt.date(2024, 5, 1),
    "start_date": dt.date(2024, 5, 2),
    "end_date": dt.date(2024, 5, 20),
    "invoice_date": dt.date(2024, 5, 3),
    "event_timestamp": dt.datetime(2024, 5, 4, 10, 0),
    "created_at": dt.datetime(2024, 5, 5, 10, 0),
    "resolved_at": dt.datetime(2024, 5, 6, 10, 0),
}


def run(spark, as_of=AS_OF, empty=False, **dates):
    v = {**DEFAULTS, **dates}
    rows = {
        "acc": [("a", "A", "saas", 10, "growth", "Ann", "europe", v["signup_date"], "active", LOADED)],
        "sub": [("s", "a", "api_access", "growth", Decimal("1.00"), v["start_date"], v["end_date"], "cancelled",
                 False, 1, LOADED)],
        "inv": [("i", "a", v["invoice_date"], Decimal("1.00"), "USD", "paid", ["api_access"],
                 v["invoice_date"].replace(day=1), True, True, LOADED)],
        "evt": [("e", "a", "u", "api_call", v["event_timestamp"], v["event_timestamp"].date(), 10, "advanced",
                 LOADED)],
        "tkt": [("t", "a", v["created_at"], v["resolved_at"], "p1", "bug", "resolved", None, 1.0, 4, False,
                 v["created_at"].date(), LOADED)],
    }
    if empty:
        rows = {k: [] for k in rows}
    return dim_date(
        spark.createDataFrame(rows["acc"], ACCOUNTS_DDL),
        spark.createDataFrame(rows["sub"], SUBSCRIPTIONS_DDL),
        spark.createDataFrame(rows["inv"], INVOICES_DDL),
        spark.createDataFrame(rows["evt"], EVENTS_DDL),
        spark.createDataFrame(rows["tkt"], TICKETS_DDL),
        as_of_date=as_of,
    )


def test_output_schema(spark):
    out = run(spark)
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == EXPECTED_SCHEMA


def test_range_and_day_attributes(spark):
    # Earliest date 2022-12-31 23:59 (an event) -> the calendar starts 2022-01-01 and runs to 2025-12-31.
    out = run(spark, event_timestamp=dt.datetime(2022, 12, 31, 23, 59)).cache()
    bounds = out.agg(F.min("date_day"), F.max("date_day"), F.count("*"), F.countDistinct("date_day")).first()
    assert tuple(bounds) == (dt.date(2022, 1, 1), dt.date(2025, 12, 31), 1461, 1461)

    picked = [dt.date(2024, 3, 9), dt.date(2024, 2, 29), dt.date(2022, 1, 1), dt.date(2025, 12, 31),
              dt.date(2023, 11, 5), dt.date(2024, 6, 17)]
    expected = spark.createDataFrame(
        [
            (dt.date(2024, 3, 9), 2024, 1, 3, "March", "2024-03", 10, 7, "Saturday", 9, True,
             dt.date(2024, 3, 1), dt.date(2024, 3, 31), dt.date(2024, 1, 1), dt.date(2024, 1, 1)),
            (dt.date(2024, 2, 29), 2024, 1, 2, "February", "2024-02", 9, 5, "Thursday", 29, False,
             dt.date(2024, 2, 1), dt.date(2024, 2, 29), dt.date(2024, 1, 1), dt.date(2024, 1, 1)),
            # ISO week of Jan 1 2022 is week 52 (of 2021).
            (dt.date(2022, 1, 1), 2022, 1, 1, "January", "2022-01", 52, 7, "Saturday", 1, True,
             dt.date(2022, 1, 1), dt.date(2022, 1, 31), dt.date(2022, 1, 1), dt.date(2022, 1, 1)),
            # ... and Dec 31 2025 is in ISO week 1 (of 2026).
            (dt.date(2025, 12, 31), 2025, 4, 12, "December", "2025-12", 1, 4, "Wednesday", 31, False,
             dt.date(2025, 12, 1), dt.date(2025, 12, 31), dt.date(2025, 10, 1), dt.date(2025, 1, 1)),
            (dt.date(2023, 11, 5), 2023, 4, 11, "November", "2023-11", 44, 1, "Sunday", 5, True,
             dt.date(2023, 11, 1), dt.date(2023, 11, 30), dt.date(2023, 10, 1), dt.date(2023, 1, 1)),
            (dt.date(2024, 6, 17), 2024, 2, 6, "June", "2024-06", 25, 2, "Monday", 17, False,
             dt.date(2024, 6, 1), dt.date(2024, 6, 30), dt.date(2024, 4, 1), dt.date(2024, 1, 1)),
        ],
        OUT_DDL,
    )
    actual = out.where(F.col("date_day").isin(*picked))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    out.unpersist()


@pytest.mark.parametrize(
    "column, value",
    [
        ("signup_date", dt.date(2021, 7, 1)),
        ("start_date", dt.date(2021, 7, 1)),
        ("end_date", dt.date(2021, 7, 1)),
        ("invoice_date", dt.date(2021, 7, 1)),
        ("event_timestamp", dt.datetime(2021, 7, 1, 8, 0)),
        ("created_at", dt.datetime(2021, 7, 1, 8, 0)),
        ("resolved_at", dt.datetime(2021, 7, 1, 8, 0)),
    ],
)
def test_every_date_column_can_set_the_start(spark, column, value):
    out = run(spark, **{column: value})
    assert tuple(out.agg(F.min("date_day"), F.max("date_day")).first()) == (dt.date(2021, 1, 1), dt.date(2025, 12, 31))


def test_start_uses_all_rows_not_only_point_in_time_and_end_follows_d(spark):
    # D = 2023-03-01: the account signed up after D (core would drop it), yet its 2022-08-01 invoice
    # sets the start to 2022-01-01; the end is Dec 31 of the year after D.
    out = run(spark, as_of=dt.date(2023, 3, 1), signup_date=dt.date(2023, 6, 1), invoice_date=dt.date(2022, 8, 1))
    assert tuple(out.agg(F.min("date_day"), F.max("date_day")).first()) == (dt.date(2022, 1, 1), dt.date(2024, 12, 31))


def test_no_data_starts_in_the_year_of_d(spark):
    out = run(spark, empty=True)
    assert tuple(out.agg(F.min("date_day"), F.max("date_day"), F.count("*")).first()) == (
        dt.date(2024, 1, 1), dt.date(2025, 12, 31), 731)
