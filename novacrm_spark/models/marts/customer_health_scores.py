"""customer_health_scores: a 0-100 health score per active account from usage, support, revenue and engagement."""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from novacrm_spark.columns import MONEY, calculate_health_score, round_half_away, within_last_days
from novacrm_spark.domains import OPEN_TICKET_STATUSES
from novacrm_spark.model import model
from novacrm_spark.models.marts._rules import as_of_month, exact_mean, zero_count, zero_money

WINDOW_DAYS = 30


@model
def customer_health_scores(
    dim_account: DataFrame,
    fct_usage: DataFrame,
    fct_tickets: DataFrame,
    fct_revenue: DataFrame,
    stg_usage_events: DataFrame,
    *,
    as_of_date: date,
    loaded_at: datetime,
) -> DataFrame:
    """One row per active account with its usage, support, revenue and engagement scores and overall health.

    Population: dim_account rows with status 'active' (signed up by D). "Last
    30 days" is D-30 ... D, both ends inclusive.

    - usage_score: avg_daily_events_30d = exact mean of fct_usage.total_events
      over the account's usage days in the window (days without events are not
      zeros), rounded half away to 2. Accounts with such days get
      ntile(4) over (avg_daily_events_30d as rounded, account_id) x 25, so the
      least active quarter scores 25 and the most active 100; others 0 (and
      avg_daily_events_30d 0).
    - support_score over tickets created in the window: open = status
      open/escalated, csat = the exact (unrounded) mean of the non-null
      satisfaction scores. No tickets 50; else 100 if open = 0 and
      coalesce(csat, 5) >= 4; 75 if open = 0; 50 if open <= 2 and
      coalesce(csat, 3) >= 3; 25 if open <= 5; else 10. avg_csat_30d is that
      mean rounded to 1 (0 when no rated ticket).
    - revenue_score from the latest fct_revenue row with revenue_month <= M
      (a churn row counts): 100 if net_mrr_change > 0, 60 if = 0, 30 if > -50,
      else 10; no row 50 with latest_mrr and latest_mrr_change 0.
    - engagement_score: features_used_30d = distinct event_name in the window.
      fct_usage only keeps per-day distinct counts (the sum over days would
      count a feature once per day), so this reads stg_usage_events, filtered
      to event_date in the window and to the scored accounts. Accounts with
      events get ntile(4) over (features_used_30d, account_id) x 25; others 0.
    - health_score = calculate_health_score (exact decimal weights, rounded to
      1); health_tier champion >= 80, healthy >= 60, neutral >= 40, at_risk >=
      20, else critical; intervention_priority = row_number over
      (health_score, account_id), 1 = lowest score = most urgent.
    - scored_at = the run's single timestamp.

    Example: the only active account with usage, averaging 12 events a day
    over 3 days with 6 features, no tickets and a latest ledger row of +100.00
    scores usage 25, support 50, revenue 100, engagement 25 -> health 48.8,
    neutral.
    """
    as_of = F.lit(as_of_date)
    accounts = dim_account.where((F.col("status") == "active") & (F.col("signup_date") <= as_of))

    def in_window(c: str) -> Column:
        return within_last_days(c, as_of_date, WINDOW_DAYS)

    usage = (
        fct_usage.where(in_window("event_date"))
        .groupBy("account_id")
        .agg(round_half_away(exact_mean("total_events"), 2).alias("avg_daily_events_30d"))
        .withColumn("_has_usage", F.lit(True))
    )

    support = (
        fct_tickets.where(in_window("created_date"))
        .groupBy("account_id")
        .agg(
            F.count(F.lit(1)).cast("long").alias("_tickets_30d"),
            F.count_if(F.col("status").isin(*OPEN_TICKET_STATUSES)).alias("open_tickets_30d"),
            exact_mean("satisfaction_score").alias("_csat_30d"),
        )
    )

    # The latest ledger row at or before M; the ledger is unique per (account, month).
    latest_first = Window.partitionBy("account_id").orderBy(F.col("revenue_month").desc())
    revenue = (
        fct_revenue.where(F.col("revenue_month") <= F.lit(as_of_month(as_of_date)))
        .withColumn("_rn", F.row_number().over(latest_first))
        .where(F.col("_rn") == 1)
        .select(
            "account_id",
            F.col("mrr").alias("_latest_mrr"),
            F.col("net_mrr_change").alias("_latest_mrr_change"),
            F.lit(True).alias("_has_revenue"),
        )
    )

    features = (
        stg_usage_events.where(in_window("event_date"))
        .groupBy("account_id")
        .agg(F.countDistinct("event_name").cast("long").alias("features_used_30d"))
    )

    scored = (
        accounts.join(usage, "account_id", "left")
        .join(support, "account_id", "left")
        .join(revenue, "account_id", "left")
        .join(features, "account_id", "left")
        .withColumn("_has_usage", F.coalesce("_has_usage", F.lit(False)))
        .withColumn("avg_daily_events_30d", F.coalesce("avg_daily_events_30d", F.lit(0.0)))
        .withColumn("features_used_30d", F.coalesce("features_used_30d", zero_count()))
        .withColumn("_has_events", F.col("features_used_30d") > 0)
        .withColumn("_tickets_30d", F.coalesce("_tickets_30d", zero_count()))
        .withColumn("open_tickets_30d", F.coalesce("open_tickets_30d", zero_count()))
    )

    scored = (
        scored.withColumn("usage_score", _quartile_score("_has_usage", "avg_daily_events_30d"))
        .withColumn(
            "support_score", _support_score(F.col("_tickets_30d"), F.col("open_tickets_30d"), F.col("_csat_30d"))
        )
        .withColumn("revenue_score", _revenue_score(F.col("_has_revenue"), F.col("_latest_mrr_change")))
        .withColumn("engagement_score", _quartile_score("_has_events", "features_used_30d"))
    )
    scored = scored.withColumn(
        "health_score",
        calculate_health_score("usage_score", "support_score", "revenue_score", "engagement_score"),
    )

    # Lowest health first; account_id breaks ties so every run ranks the same way.
    urgency = Window.orderBy(F.col("health_score").asc(), F.col("account_id").asc())
    return scored.select(
        "account_id",
        "company_name",
        "account_segment",
        "plan_tier",
        F.col("tenure_months").cast("int").alias("tenure_months"),
        F.col("current_mrr").cast(MONEY).alias("current_mrr"),
        F.col("current_arr").cast(MONEY).alias("current_arr"),
        "account_owner",
        "lifecycle_stage",
        "region",
        "usage_score",
        "support_score",
        "revenue_score",
        "engagement_score",
        "avg_daily_events_30d",
        "open_tickets_30d",
        F.coalesce(round_half_away(F.col("_csat_30d"), 1), F.lit(0.0)).alias("avg_csat_30d"),
        F.coalesce(F.col("_latest_mrr"), zero_money()).cast(MONEY).alias("latest_mrr"),
        F.coalesce(F.col("_latest_mrr_change"), zero_money()).cast(MONEY).alias("latest_mrr_change"),
        "features_used_30d",
        "health_score",
        _health_tier(F.col("health_score")).alias("health_tier"),
        F.row_number().over(urgency).cast("int").alias("intervention_priority"),
        F.lit(loaded_at).cast("timestamp").alias("scored_at"),
    )


def _quartile_score(participates: str, value: str) -> Column:
    """ntile(4) x 25 over (value, account_id) among the participating accounts only; 0 for the rest.

    Partitioning by the participation flag keeps non-participants out of the
    quartile boundaries; their own partition's ntile is discarded.
    """
    quartiles = Window.partitionBy(participates).orderBy(F.col(value).asc(), F.col("account_id").asc())
    return F.when(F.col(participates), F.ntile(4).over(quartiles) * 25).otherwise(F.lit(0)).cast("int")


def _support_score(tickets: Column, open_tickets: Column, csat: Column) -> Column:
    """The support rule: no tickets 50; then 100 / 75 / 50 / 25 / 10 by open count and mean CSAT."""
    return (
        F.when(tickets == 0, F.lit(50))
        .when((open_tickets == 0) & (F.coalesce(csat, F.lit(5)) >= 4), F.lit(100))
        .when(open_tickets == 0, F.lit(75))
        .when((open_tickets <= 2) & (F.coalesce(csat, F.lit(3)) >= 3), F.lit(50))
        .when(open_tickets <= 5, F.lit(25))
        .otherwise(F.lit(10))
        .cast("int")
    )


def _revenue_score(has_revenue: Column, net_change: Column) -> Column:
    """The revenue rule on the latest ledger row: 100 / 60 / 30 / 10 by net change; no row 50."""
    return (
        F.when(has_revenue.isNull(), F.lit(50))
        .when(net_change > 0, F.lit(100))
        .when(net_change == 0, F.lit(60))
        .when(net_change > -50, F.lit(30))
        .otherwise(F.lit(10))
        .cast("int")
    )


def _health_tier(score: Column) -> Column:
    """champion >= 80, healthy >= 60, neutral >= 40, at_risk >= 20, else critical."""
    return (
        F.when(score >= 80, F.lit("champion"))
        .when(score >= 60, F.lit("healthy"))
        .when(score >= 40, F.lit("neutral"))
        .when(score >= 20, F.lit("at_risk"))
        .otherwise(F.lit("critical"))
    )
