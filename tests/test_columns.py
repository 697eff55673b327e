"""Every Column helper on small hand-built inputs, dirty values included."""

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from novacrm_spark import columns as C


def apply(spark, helper, values, in_type, out_type):
    """One-column input -> (input, helper(input)) rows, compared with chispa."""
    df = spark.createDataFrame([(v,) for v in values], f"v {in_type}")
    return df.select("v", helper(F.col("v")).alias("out")), f"v {in_type}, out {out_type}"


def check(spark, helper, cases, in_type, out_type):
    actual, schema = apply(spark, helper, [c[0] for c in cases], in_type, out_type)
    expected = spark.createDataFrame(cases, schema)
    assert_df_equality(actual, expected, ignore_nullable=True, ignore_row_order=True)


def test_clean_text_trims_and_nulls_empty(spark):
    check(spark, C.clean_text, [("  Acme Inc ", "Acme Inc"), ("   ", None), ("", None), (None, None)], "string", "string")


def test_clean_code_lowers(spark):
    check(spark, C.clean_code, [(" Growth ", "growth"), ("P3", "p3"), ("  ", None)], "string", "string")


def test_clean_currency_uppers(spark):
    check(spark, C.clean_currency, [(" usd", "USD"), ("Usd ", "USD"), ("", None)], "string", "string")


def test_parse_timestamp_is_strict(spark):
    cases = [
        ("2024-10-08T09:28:50.352748", dt.datetime(2024, 10, 8, 9, 28, 50, 352748)),
        ("2024-10-08T09:28:50.5", dt.datetime(2024, 10, 8, 9, 28, 50, 500000)),
        ("2024-10-08T09:28:50", dt.datetime(2024, 10, 8, 9, 28, 50)),
        ("2024-10-08", dt.datetime(2024, 10, 8)),  # a bare date is midnight
        ("2024-10-08 09:28:50", None),  # a space instead of T
        ("2024-13-45T00:00:00", None),  # no such date
        ("2024-02-30", None),
        ("2024-10-08T25:00:00", None),
        ("2024-10-08T24:00:00", None),
        ("2024-10-08T09:60:00", None),
        ("2024-10-08T09:28:61", None),
        ("0000-01-01", None),
        ("2024-10-08T09:28:50.1234567", None),  # more than 6 fraction digits
        ("12/03/2024", None),
        (None, None),
    ]
    check(spark, C.parse_timestamp, cases, "string", "timestamp")


def test_parse_date_keeps_date_part_of_a_timestamp(spark):
    cases = [
        ("2024-06-04", dt.date(2024, 6, 4)),
        ("2024-06-04T00:00:00", dt.date(2024, 6, 4)),
        ("2024-06-04T23:59:59.999999", dt.date(2024, 6, 4)),
        ("2024-6-4", None),
        ("04/06/2024", None),
        ("2023-02-29", None),
    ]
    check(spark, C.parse_date, cases, "string", "date")


def test_parse_money_rounds_half_away_from_zero(spark):
    cases = [
        ("149", Decimal("149.00")),
        ("21.455", Decimal("21.46")),
        ("-12.125", Decimal("-12.13")),
        ("0.005", Decimal("0.01")),
        ("1.004999", Decimal("1.00")),
        ("1,234.00", None),  # thousands separator
        ("1e3", None),  # exponent
        ("+5", None),
        ("abc", None),
        (".5", None),
    ]
    check(spark, C.parse_money, cases, "string", "decimal(18,2)")


def test_parse_int_takes_integral_text_only(spark):
    cases = [("42", 42), ("-3", -3), ("42.0", None), ("4 2", None), ("99999999999", None)]
    check(spark, C.parse_int, cases, "string", "int")


def test_parse_double(spark):
    cases = [("4.5", 4.5), ("3", 3.0), ("4,5", None), ("NaN", None)]
    check(spark, C.parse_double, cases, "string", "double")


def test_event_category(spark):
    cases = [
        ("dashboard_viewed", "reporting"),
        ("deal_updated", "crm_core"),
        ("meeting_logged", "communication"),
        ("api_call", "advanced"),
        ("user_invited", "platform"),
        ("ai_assist_used", "other"),
    ]
    check(spark, C.event_category, cases, "string", "string")


def test_sla_target_hours(spark):
    check(spark, C.sla_target_hours, [("p1", 4), ("p2", 12), ("p3", 48), ("p4", 120), ("p9", None)], "string", "int")


def test_whole_minutes_truncate_toward_zero(spark):
    df = spark.createDataFrame(
        [
            (dt.datetime(2024, 1, 1, 9, 0, 0), dt.datetime(2024, 1, 1, 13, 0, 59, 999999)),
            (dt.datetime(2024, 1, 1, 9, 0, 0), dt.datetime(2024, 1, 1, 9, 0, 59)),
            (dt.datetime(2024, 1, 1, 9, 1, 30), dt.datetime(2024, 1, 1, 9, 0, 0)),
            (dt.datetime(2024, 1, 1, 9, 0, 0), None),
        ],
        "s timestamp, e timestamp",
    )
    actual = df.select(C.whole_minutes_between("s", "e").alias("w"))
    expected = spark.createDataFrame([(240,), (0,), (-1,), (None,)], "w long")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_hours_from_minutes_rounds_in_decimal(spark):
    # 4546 min = 75.7666.. h -> 75.8; 87 min = 1.45 h exactly -> 1.5 (half away from zero)
    check(spark, C.hours_from_minutes, [(4546, 75.8), (87, 1.5), (3, 0.1), (None, None)], "long", "double")


def test_round_half_away_works_on_exact_values(spark):
    df = spark.createDataFrame([(Decimal("21.45"),), (Decimal("-12.25"),), (Decimal("4.44"),)], "v decimal(10,2)")
    actual = df.select(C.round_half_away("v", 1).alias("r"))
    expected = spark.createDataFrame([(21.5,), (-12.3,), (4.4,)], "r double")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_mean_of_4_45_rounds_up_in_decimal(spark):
    # Binary doubles give 4.4499999..; decimal arithmetic gives 4.45 -> 4.5.
    df = spark.createDataFrame([(4.4,), (4.5,)], "v double")
    actual = df.agg(C.round_half_away(F.avg(F.col("v").cast(C.EXACT)), 1).alias("r"))
    assert_df_equality(actual, spark.createDataFrame([(4.5,)], "r double"), ignore_nullable=True)


def test_month_diff_counts_calendar_boundaries(spark):
    df = spark.createDataFrame(
        [
            (dt.date(2024, 1, 31), dt.date(2024, 2, 1), 1),
            (dt.date(2024, 1, 1), dt.date(2024, 1, 31), 0),
            (dt.date(2023, 11, 15), dt.date(2025, 1, 31), 14),
            (dt.date(2024, 3, 1), dt.date(2024, 1, 1), -2),
        ],
        "a date, b date, expected int",
    )
    actual = df.select("a", "b", C.month_diff("a", "b").alias("expected"))
    assert_df_equality(actual, df, ignore_nullable=True)


def test_year_month_of_a_date_or_a_timestamp(spark):
    check(spark, C.year_month, [(dt.date(2024, 3, 1), "2024-03"), (dt.date(2024, 12, 31), "2024-12"), (None, None)],
          "date", "string")
    check(spark, C.year_month, [(dt.datetime(2024, 3, 31, 23, 59, 59), "2024-03")], "timestamp", "string")


def test_within_last_days_includes_both_ends(spark):
    as_of = dt.date(2025, 1, 31)
    cases = [
        (dt.date(2025, 1, 1), True),  # D - 30
        (dt.date(2024, 12, 31), False),  # D - 31
        (dt.date(2025, 1, 31), True),
        (dt.date(2025, 2, 1), False),  # after D
    ]
    check(spark, lambda c: C.within_last_days(c, as_of, 30), cases, "date", "boolean")


@pytest.mark.parametrize(
    "tier, employees, segment",
    [
        ("enterprise", 10, "enterprise"),
        ("starter", 501, "enterprise"),
        ("starter", 500, "mid_market"),
        ("growth", 5, "mid_market"),
        ("starter", 51, "mid_market"),
        ("starter", 50, "smb"),
        ("starter", None, "smb"),
        ("growth", None, "mid_market"),
    ],
)
def test_classify_segment(spark, tier, employees, segment):
    df = spark.createDataFrame([(tier, employees)], "plan_tier string, employee_count int")
    actual = df.select(C.classify_segment("plan_tier", "employee_count").alias("s"))
    assert_df_equality(actual, spark.createDataFrame([(segment,)], "s string"), ignore_nullable=True)


def test_calculate_health_score_weights_and_rounds(spark):
    df = spark.createDataFrame(
        [(100, 100, 100, 100), (0, 0, 0, 0), (75, 50, 60, 25), (25, 75, 30, 50), (50, 10, 10, 75)],
        "u int, s int, r int, e int",
    )
    actual = df.select(C.calculate_health_score("u", "s", "r", "e").alias("h"))
    # 0.3*75+0.2*50+0.25*60+0.25*25 = 22.5+10+15+6.25 = 53.75 -> 53.8
    # 0.3*25+0.2*75+0.25*30+0.25*50 = 7.5+15+7.5+12.5 = 42.5
    # 0.3*50+0.2*10+0.25*10+0.25*75 = 15+2+2.5+18.75 = 38.25 -> 38.3
    expected = spark.createDataFrame([(100.0,), (0.0,), (53.8,), (42.5,), (38.3,)], "h double")
    assert_df_equality(actual, expected, ignore_nullable=True)
