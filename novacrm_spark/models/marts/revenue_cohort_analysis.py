"""revenue_cohort_analysis: account and revenue retention of signup-month cohorts, by months since first revenue."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from novacrm_spark.columns import MONEY, month_diff, month_start, year_month
from novacrm_spark.model import model
from novacrm_spark.models.marts._rules import (
    as_of_month,
    exact_pct,
    exact_ratio,
    round_money,
    zero_count,
    zero_money,
)


@model
def revenue_cohort_analysis(dim_account: DataFrame, fct_revenue: DataFrame, *, as_of_date: date) -> DataFrame:
    """One row per signup cohort and period (months since each account's first revenue month), zero-filled.

    - cohort_month = first day of the account's signup month; only accounts of
      dim_account with at least one ledger month with mrr > 0 (revenue_month
      <= M) belong to a cohort, so a cohort appears iff it has a paying account.
    - period_number = month difference from the account's own first revenue
      month to the revenue month (0 = its first paying month, which may be
      later than its signup month). Each cohort gets every period from 0 to
      the month difference between its earliest first revenue month and M;
      periods nobody paid in are zero-filled.
    - active_accounts = accounts with mrr > 0 in that period; cohort_mrr =
      their mrr sum; avg_mrr_per_account = cohort_mrr / active_accounts
      rounded half away to cents (null when no active accounts).
    - initial_accounts = accounts in the cohort and initial_mrr = sum of each
      one's first-month mrr (both the period-0 values, taken with a window
      over the cohort).
    - account_retention_pct = active_accounts / initial_accounts x 100 and
      revenue_retention_pct = cohort_mrr / initial_mrr x 100, decimal
      arithmetic rounded half away to 1 (null when the denominator is 0,
      which a cohort with a paying account never has); period 0 is 100.0.
    - avg_mrr_change_per_account = round(cohort_mrr / active_accounts -
      initial_mrr / initial_accounts, 2) on the unrounded means, null when
      no active accounts.

    Example: cohort 2024-01 with A (first paid 2024-01, 100.00) and B (first
    paid 2024-03, 200.00), M = 2024-04: periods 0..3; period 0 has 2 accounts,
    300.00; if only A pays 120.00 in period 1, account retention 50.0,
    revenue retention 40.0, avg change 120.00 - 150.00 = -30.00.
    """
    month = F.lit(as_of_month(as_of_date))
    cohorts_of = dim_account.where(F.col("signup_date") <= F.lit(as_of_date)).select(
        "account_id", month_start("signup_date").alias("cohort_month")
    )

    per_account = Window.partitionBy("account_id")
    paying = (
        fct_revenue.where((F.col("revenue_month") <= month) & (F.col("mrr") > 0))
        .join(cohorts_of, "account_id")
        .withColumn("_first_revenue_month", F.min("revenue_month").over(per_account))
        .withColumn("period_number", month_diff("_first_revenue_month", "revenue_month").cast("int"))
    )

    by_period = paying.groupBy("cohort_month", "period_number").agg(
        F.count(F.lit(1)).cast("long").alias("active_accounts"),
        F.sum("mrr").cast(MONEY).alias("cohort_mrr"),
    )

    # The full period grid per cohort, built from the cohort itself so no cohort can be
    # lost: 0 .. month_diff(earliest first revenue month, M).
    grid = paying.groupBy("cohort_month").agg(F.min("_first_revenue_month").alias("_earliest")).select(
        "cohort_month",
        F.explode(F.sequence(F.lit(0), month_diff("_earliest", month).cast("int"))).alias("period_number"),
    )
    filled = (
        grid.join(by_period, ["cohort_month", "period_number"], "left")
        .withColumn("active_accounts", F.coalesce("active_accounts", zero_count()))
        .withColumn("cohort_mrr", F.coalesce("cohort_mrr", zero_money()))
    )

    # Period 0 holds every cohort member exactly once, at its own first paying month.
    per_cohort = Window.partitionBy("cohort_month")
    at_start = F.col("period_number") == 0
    filled = filled.withColumn(
        "initial_accounts", F.max(F.when(at_start, F.col("active_accounts"))).over(per_cohort)
    ).withColumn("initial_mrr", F.max(F.when(at_start, F.col("cohort_mrr"))).over(per_cohort))

    active, mrr = F.col("active_accounts"), F.col("cohort_mrr")
    initial_accounts, initial_mrr = F.col("initial_accounts"), F.col("initial_mrr")
    mean_mrr = exact_ratio(mrr, active)
    return filled.select(
        "cohort_month",
        year_month("cohort_month").alias("cohort_label"),
        "period_number",
        "active_accounts",
        "cohort_mrr",
        F.when(active > 0, round_money(mean_mrr)).alias("avg_mrr_per_account"),
        initial_accounts.cast("long").alias("initial_accounts"),
        initial_mrr.cast(MONEY).alias("initial_mrr"),
        exact_pct(active, initial_accounts).alias("account_retention_pct"),
        exact_pct(mrr, initial_mrr).alias("revenue_retention_pct"),
        F.when(active > 0, round_money(mean_mrr - exact_ratio(initial_mrr, initial_accounts))).alias(
            "avg_mrr_change_per_account"
        ),
    )
