"""churn_risk_view: churn risk signals and a risk level per active account."""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.columns import within_last_days
from novacrm_spark.model import model
from novacrm_spark.models.marts._rules import as_of_month, exact_pct, zero_count

HEALTH_COLUMNS = (
    "account_id",
    "company_name",
    "account_segment",
    "plan_tier",
    "account_owner",
    "region",
    "current_mrr",
    "current_arr",
    "tenure_months",
    "health_score",
    "health_tier",
)


@model
def churn_risk_view(
    customer_health_scores: DataFrame,
    fct_usage: DataFrame,
    fct_tickets: DataFrame,
    fct_revenue: DataFrame,
    *,
    as_of_date: date,
    loaded_at: datetime,
) -> DataFrame:
    """One row per scored (active) account with its churn risk signals, flag count and risk level.

    - events_last_30d = sum of fct_usage.total_events for D-30 <= d <= D;
      events_prev_30d for D-60 <= d < D-30 (0 when none). usage_change_pct = 0
      when prev = 0, else round((last - prev) / prev x 100, 1) in decimal.
    - escalated_tickets_90d: tickets with status escalated (the export's
      current status) created D-90 ... D; high_priority_tickets_90d: those of
      priority p1 or p2.
    - contraction_months_6m: fct_revenue rows with movement contraction or
      churn and revenue_month in M-5 months ... M.
    - flags: is_low_health (health_score < 40); is_usage_declining (prev > 0
      and last < 0.5 x prev, compared exactly as 2 x last < prev);
      has_escalations (>= 2 escalated); has_revenue_contraction (>= 2 months).
      risk_signal_count = number of true flags.
    - risk_level: critical if health_score < 20; high if < 40 or usage
      declining or escalations; medium if < 60 or revenue contraction; else low.
    - assessed_at = the run's single timestamp.

    Example: health 55.0, 40 events in the last 30 days against 100 before
    (-60.0 %), no escalations, no contraction -> is_usage_declining,
    risk_signal_count 1, risk_level high.
    """
    as_of = F.lit(as_of_date)
    last_30 = within_last_days("event_date", as_of_date, 30)
    # D-60 <= d < D-30: the 30 days before the "last 30 days" window, without overlap.
    prev_30 = (F.col("event_date") >= F.date_sub(as_of, 60)) & (F.col("event_date") < F.date_sub(as_of, 30))
    usage = (
        fct_usage.where((F.col("event_date") >= F.date_sub(as_of, 60)) & (F.col("event_date") <= as_of))
        .groupBy("account_id")
        .agg(
            F.sum(F.when(last_30, F.col("total_events"))).cast("long").alias("events_last_30d"),
            F.sum(F.when(prev_30, F.col("total_events"))).cast("long").alias("events_prev_30d"),
        )
    )

    escalations = (
        fct_tickets.where(within_last_days("created_date", as_of_date, 90) & (F.col("status") == "escalated"))
        .groupBy("account_id")
        .agg(
            F.count(F.lit(1)).cast("long").alias("escalated_tickets_90d"),
            F.count_if(F.col("priority").isin("p1", "p2")).alias("high_priority_tickets_90d"),
        )
    )

    month = F.lit(as_of_month(as_of_date))
    contractions = (
        fct_revenue.where(
            F.col("revenue_movement").isin("contraction", "churn")
            & (F.col("revenue_month") >= F.add_months(month, -5))
            & (F.col("revenue_month") <= month)
        )
        .groupBy("account_id")
        .agg(F.count(F.lit(1)).cast("long").alias("contraction_months_6m"))
    )

    joined = (
        customer_health_scores.select(*HEALTH_COLUMNS)
        .join(usage, "account_id", "left")
        .join(escalations, "account_id", "left")
        .join(contractions, "account_id", "left")
    )
    for name in (
        "events_last_30d",
        "events_prev_30d",
        "escalated_tickets_90d",
        "high_priority_tickets_90d",
        "contraction_months_6m",
    ):
        joined = joined.withColumn(name, F.coalesce(F.col(name), zero_count()))

    last, prev, score = F.col("events_last_30d"), F.col("events_prev_30d"), F.col("health_score")
    flagged = joined.select(
        *HEALTH_COLUMNS,
        "events_last_30d",
        "events_prev_30d",
        F.when(prev == 0, F.lit(0.0)).otherwise(exact_pct(last - prev, prev)).alias("usage_change_pct"),
        "escalated_tickets_90d",
        "high_priority_tickets_90d",
        "contraction_months_6m",
        (score < 40).alias("is_low_health"),
        ((prev > 0) & (last * 2 < prev)).alias("is_usage_declining"),
        (F.col("escalated_tickets_90d") >= 2).alias("has_escalations"),
        (F.col("contraction_months_6m") >= 2).alias("has_revenue_contraction"),
    )

    flags = ("is_low_health", "is_usage_declining", "has_escalations", "has_revenue_contraction")
    signal_count = sum((F.col(f).cast("int") for f in flags[1:]), F.col(flags[0]).cast("int"))
    risk_level = (
        F.when(score < 20, F.lit("critical"))
        .when((score < 40) | F.col("is_usage_declining") | F.col("has_escalations"), F.lit("high"))
        .when((score < 60) | F.col("has_revenue_contraction"), F.lit("medium"))
        .otherwise(F.lit("low"))
    )
    return flagged.select(
        "*",
        signal_count.cast("int").alias("risk_signal_count"),
        risk_level.alias("risk_level"),
        F.lit(loaded_at).cast("timestamp").alias("assessed_at"),
    )
