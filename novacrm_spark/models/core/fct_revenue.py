"""fct_revenue: the MRR ledger, one row per account and revenue (or churn) month."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from novacrm_spark.columns import MONEY, MOVEMENT_AMOUNTS, month_diff, month_start
from novacrm_spark.model import model
from novacrm_spark.models.core._rules import accounts_as_of, money_sum, records_as_of


@model
def fct_revenue(stg_accounts: DataFrame, stg_invoices: DataFrame, *, as_of_date: date) -> DataFrame:
    """The MRR ledger: one row per account and month with billed revenue, plus one churn row after each run of revenue months.

    billed MRR = sum of amount over the month's invoices with is_billed (paid or
    overdue; void is not revenue), by invoice_month; collected_mrr = the same
    over is_paid (so an overdue invoice is billed but not collected). Only
    accounts signed up by D and invoices dated <= D count, so months after
    M (the as-of month) never appear. A month whose billed total is <= 0 is
    empty. Rows: every month with billed MRR > 0, plus one ``churn`` row
    (mrr 0, collected 0, churned_mrr = the previous month's mrr) in the first
    empty month after a revenue month, only when that month is <= M; later
    empty months have no row. A last revenue month equal to M therefore has no
    churn row yet (the month is not over). previous_mrr is the mrr of the
    calendar month immediately before (a churn row counts as 0; 0 after a gap
    or before the first revenue month). Movements: new (first revenue month),
    reactivation (revenue after one or more empty months; previous_mrr is 0),
    expansion, contraction, flat, churn, each with its one non-zero amount
    (expansion/contraction amounts are the absolute difference) so that
    mrr = previous_mrr + new + reactivation + expansion - contraction - churned.
    month_number = month difference from first_revenue_month + 1 (churn rows
    included). The ledger is driven by invoices only: account status does not
    add or remove rows.

    Example: billed 100 in Jan, 150 in Feb, nothing in Mar, 80 in Apr with
    D in May gives Jan new 100, Feb expansion 50, Mar churn 150, Apr
    reactivation 80, May churn 80.
    """
    as_of_month = month_start(F.lit(as_of_date))
    accounts = accounts_as_of(stg_accounts, as_of_date)
    invoices = records_as_of(stg_invoices, accounts, "invoice_date", as_of_date)

    monthly = (
        invoices.where(F.col("invoice_month") <= as_of_month)
        .groupBy("account_id", F.col("invoice_month").alias("revenue_month"))
        .agg(
            money_sum(F.when(F.col("is_billed"), F.col("amount"))).alias("mrr"),
            money_sum(F.when(F.col("is_paid"), F.col("amount"))).alias("collected_mrr"),
        )
        # A month of only void or zero invoices is an empty month.
        .where(F.col("mrr") > 0)
    )

    by_month = Window.partitionBy("account_id").orderBy("revenue_month")
    per_account = Window.partitionBy("account_id")
    months = monthly.select(
        "account_id",
        "revenue_month",
        "mrr",
        F.coalesce("collected_mrr", _zero()).alias("collected_mrr"),
        F.lag("revenue_month").over(by_month).alias("prior_month"),
        F.lag("mrr").over(by_month).alias("prior_mrr"),
        F.lead("revenue_month").over(by_month).alias("next_month"),
        F.min("revenue_month").over(per_account).alias("first_revenue_month"),
    )

    # The gap test: the previous revenue month is the calendar month right before.
    consecutive = F.col("prior_month") == F.add_months("revenue_month", -1)
    previous_mrr = F.when(consecutive, F.col("prior_mrr")).otherwise(_zero())
    mrr = F.col("mrr")
    revenue_rows = months.select(
        "account_id",
        "revenue_month",
        "mrr",
        "collected_mrr",
        previous_mrr.alias("previous_mrr"),
        F.when(F.col("prior_month").isNull(), F.lit("new"))
        .when(~consecutive, F.lit("reactivation"))
        .when(mrr > previous_mrr, F.lit("expansion"))
        .when(mrr < previous_mrr, F.lit("contraction"))
        .otherwise(F.lit("flat"))
        .alias("revenue_movement"),
        "first_revenue_month",
    )
    revenue_rows = revenue_rows.select(
        "*",
        *_movement_amounts(
            new=_amount_if("new", F.col("mrr")),
            reactivation=_amount_if("reactivation", F.col("mrr")),
            expansion=_amount_if("expansion", F.col("mrr") - F.col("previous_mrr")),
            contraction=_amount_if("contraction", F.col("previous_mrr") - F.col("mrr")),
            churned=_zero(),
        ),
    )

    # One churn row in the first empty month after each revenue month that is not
    # followed by the next calendar month; only if that month is already <= M.
    churn_month = F.add_months("revenue_month", 1)
    ends_run = F.col("next_month").isNull() | (F.col("next_month") > churn_month)
    churn_rows = months.where(ends_run & (churn_month <= as_of_month)).select(
        "account_id",
        churn_month.alias("revenue_month"),
        _zero().alias("mrr"),
        _zero().alias("collected_mrr"),
        F.col("mrr").alias("previous_mrr"),
        F.lit("churn").alias("revenue_movement"),
        "first_revenue_month",
        *_movement_amounts(new=_zero(), reactivation=_zero(), expansion=_zero(), contraction=_zero(),
                           churned=F.col("mrr")),
    )

    ledger = revenue_rows.unionByName(churn_rows)
    return ledger.select(
        "account_id",
        "revenue_month",
        F.col("mrr").cast(MONEY).alias("mrr"),
        F.col("collected_mrr").cast(MONEY).alias("collected_mrr"),
        (F.col("mrr") * F.lit(12)).cast(MONEY).alias("arr"),
        F.col("previous_mrr").cast(MONEY).alias("previous_mrr"),
        "revenue_movement",
        *[F.col(name).cast(MONEY).alias(name) for name in MOVEMENT_AMOUNTS],
        (F.col("mrr") - F.col("previous_mrr")).cast(MONEY).alias("net_mrr_change"),
        (month_diff("first_revenue_month", "revenue_month") + 1).cast("int").alias("month_number"),
        "first_revenue_month",
    )


def _zero() -> Column:
    return F.lit(0).cast(MONEY)


def _amount_if(movement: str, amount: Column) -> Column:
    """``amount`` on rows whose movement is ``movement``, else 0."""
    return F.when(F.col("revenue_movement") == movement, amount).otherwise(_zero())


def _movement_amounts(*, new: Column, reactivation: Column, expansion: Column, contraction: Column,
                      churned: Column) -> list[Column]:
    values = (new, reactivation, expansion, contraction, churned)
    return [value.cast(MONEY).alias(name) for value, name in zip(values, MOVEMENT_AMOUNTS)]
