"""nrr_summary: the monthly MRR bridge (starting -> ending) with net and gross revenue retention."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from novacrm_spark.columns import MONEY, MOVEMENT_AMOUNTS
from novacrm_spark.model import model
from novacrm_spark.models.marts._rules import as_of_month, exact_pct, zero_count, zero_money

ACCOUNT_COUNTS = {"new_accounts": "new", "reactivated_accounts": "reactivation", "churned_accounts": "churn"}


@model
def nrr_summary(fct_revenue: DataFrame, *, as_of_date: date) -> DataFrame:
    """One row per month from the first ledger month to M with the MRR bridge and retention rates.

    Months come from F.sequence(first revenue month, M); a month without any
    ledger row is zero-filled. starting_mrr = the previous month's ending_mrr
    (0 for the first month); ending_mrr = sum of mrr; the movement columns are
    sums of the ledger's movement amounts, so with a valid ledger ending =
    starting + new + reactivation + expansion - contraction - churned holds
    exactly. paying_accounts counts mrr > 0; new/reactivated/churned_accounts
    count rows by revenue_movement. nrr_pct = (starting + expansion -
    contraction - churned) / starting x 100, grr_pct = (starting - contraction
    - churned) / starting x 100, mrr_growth_pct = (ending - starting) /
    starting x 100: decimal arithmetic, rounded half away to 1, null when
    starting = 0. New and reactivated MRR never enter NRR or GRR.
    ending_arr = 12 x ending_mrr. No ledger rows -> no rows.

    Example: starting 1000.00, expansion 100.00, contraction 50.00, churned
    200.00, new 300.00 -> ending 1150.00, nrr 85.0, grr 75.0, growth 15.0.
    """
    month = F.lit(as_of_month(as_of_date))
    ledger = fct_revenue.where(F.col("revenue_month") <= month)

    monthly = ledger.groupBy("revenue_month").agg(
        *(F.sum(name).cast(MONEY).alias(name) for name in MOVEMENT_AMOUNTS),
        F.sum("mrr").cast(MONEY).alias("ending_mrr"),
        F.count_if(F.col("mrr") > 0).alias("paying_accounts"),
        *(F.count_if(F.col("revenue_movement") == mv).alias(name) for name, mv in ACCOUNT_COUNTS.items()),
    )

    # Every calendar month from the first ledger month to M, so gap months get a row
    # (an empty ledger gives a null start, and explode(null) gives no rows).
    months = ledger.agg(F.min("revenue_month").alias("first_month")).select(
        F.explode(F.sequence(F.col("first_month"), month, F.expr("INTERVAL 1 MONTH"))).alias("revenue_month")
    )
    filled = months.join(monthly, "revenue_month", "left")
    for name in (*MOVEMENT_AMOUNTS, "ending_mrr"):
        filled = filled.withColumn(name, F.coalesce(F.col(name), zero_money()))
    for name in ("paying_accounts", *ACCOUNT_COUNTS):
        filled = filled.withColumn(name, F.coalesce(F.col(name), zero_count()))

    # Months are contiguous, so lag(1) is exactly "the month before". One series: no partition.
    by_month = Window.orderBy("revenue_month")
    filled = filled.withColumn(
        "starting_mrr", F.coalesce(F.lag("ending_mrr", 1).over(by_month), zero_money()).cast(MONEY)
    )

    start, end = F.col("starting_mrr"), F.col("ending_mrr")
    expansion, contraction, churned = F.col("expansion_mrr"), F.col("contraction_mrr"), F.col("churned_mrr")
    return filled.select(
        "revenue_month",
        "starting_mrr",
        *MOVEMENT_AMOUNTS,
        "ending_mrr",
        "paying_accounts",
        *ACCOUNT_COUNTS,
        exact_pct(start + expansion - contraction - churned, start).alias("nrr_pct"),
        exact_pct(start - contraction - churned, start).alias("grr_pct"),
        exact_pct(end - start, start).alias("mrr_growth_pct"),
        (end * F.lit(12)).cast(MONEY).alias("ending_arr"),
    )
