"""dim_account: one row per account, with subscription, ticket and lifecycle facts."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.columns import EXACT, MONEY, classify_segment, month_diff, round_half_away
from novacrm_spark.domains import OPEN_TICKET_STATUSES
from novacrm_spark.model import model
from novacrm_spark.models.core._rules import PLATFORM_PRODUCT, accounts_as_of, money_sum, records_as_of

ACCOUNT_COLUMNS = (
    "account_id",
    "company_name",
    "industry",
    "employee_count",
    "plan_tier",
    "account_owner",
    "region",
    "signup_date",
    "status",
)


@model
def dim_account(
    stg_accounts: DataFrame,
    stg_subscriptions: DataFrame,
    stg_support_tickets: DataFrame,
    *,
    as_of_date: date,
) -> DataFrame:
    """One row per account signed up by the as-of date, with MRR, ticket and lifecycle facts.

    Point in time: subscriptions count when start_date <= D and tickets when
    created_date <= D; statuses (is_active, ticket status) are the export's
    current values. tenure_days = datediff(D, signup_date); tenure_months is the
    calendar-month difference. current_mrr sums mrr_amount of active
    subscriptions (0 when none) and current_arr = 12 x current_mrr.
    latest_subscription_date is the latest start_date among *active*
    subscriptions (null when the account has none active);
    first_subscription_date is the earliest start_date of any subscription.
    avg_csat is the exact mean of the non-null satisfaction scores and
    avg_resolution_hours the exact mean of the stored (already rounded)
    resolution_hours of resolved tickets, each rounded half away from zero to
    1 decimal, 0 when there is nothing to average. Counts are 0 when the
    account has no subscriptions or tickets. lifecycle_stage: trial / churned
    by status, else onboarding (tenure_days <= 90), growing (<= 365), mature.

    Example: an active growth account that signed up 100 days before D with
    one active 149.00 platform subscription has current_mrr 149.00,
    current_arr 1788.00, account_segment mid_market, lifecycle_stage growing.
    """
    accounts = accounts_as_of(stg_accounts, as_of_date).select(*ACCOUNT_COLUMNS)
    subscriptions = records_as_of(stg_subscriptions, accounts, "start_date", as_of_date)
    tickets = records_as_of(stg_support_tickets, accounts, "created_date", as_of_date)

    active = F.col("is_active")
    subscription_facts = subscriptions.groupBy("account_id").agg(
        money_sum(F.when(active, F.col("mrr_amount"))).alias("current_mrr"),
        F.count_if(active).alias("active_subscription_count"),
        F.count(F.lit(1)).cast("long").alias("total_subscription_count"),
        F.count_if(active & (F.col("product_name") != PLATFORM_PRODUCT)).alias("active_addon_count"),
        F.min("start_date").alias("first_subscription_date"),
        F.max(F.when(active, F.col("start_date"))).alias("latest_subscription_date"),
    )

    # Means in exact decimals so that 4.45 rounds to 4.5 (a double mean would give 4.4).
    ticket_facts = tickets.groupBy("account_id").agg(
        F.count(F.lit(1)).cast("long").alias("lifetime_tickets"),
        F.count_if(F.col("status").isin(*OPEN_TICKET_STATUSES)).alias("open_tickets"),
        round_half_away(F.avg(F.col("satisfaction_score").cast(EXACT)), 1).alias("avg_csat"),
        round_half_away(F.avg(F.col("resolution_hours").cast(EXACT)), 1).alias("avg_resolution_hours"),
        F.count_if(F.col("is_sla_breach")).alias("sla_breaches"),
    )

    as_of = F.lit(as_of_date)
    zero_money = F.lit(0).cast(MONEY)
    current_mrr = F.coalesce(F.col("current_mrr"), zero_money)
    tenure_days = F.datediff(as_of, F.col("signup_date"))
    lifecycle_stage = (
        F.when(F.col("status") == "trial", F.lit("trial"))
        .when(F.col("status") == "churned", F.lit("churned"))
        .when(tenure_days <= 90, F.lit("onboarding"))
        .when(tenure_days <= 365, F.lit("growing"))
        .otherwise(F.lit("mature"))
    )

    joined = accounts.join(subscription_facts, "account_id", "left").join(ticket_facts, "account_id", "left")
    return joined.select(
        *ACCOUNT_COLUMNS,
        tenure_days.cast("int").alias("tenure_days"),
        month_diff(F.col("signup_date"), as_of).cast("int").alias("tenure_months"),
        classify_segment("plan_tier", "employee_count").alias("account_segment"),
        current_mrr.cast(MONEY).alias("current_mrr"),
        (current_mrr * F.lit(12)).cast(MONEY).alias("current_arr"),
        F.coalesce("active_subscription_count", F.lit(0).cast("long")).alias("active_subscription_count"),
        F.coalesce("total_subscription_count", F.lit(0).cast("long")).alias("total_subscription_count"),
        F.coalesce("active_addon_count", F.lit(0).cast("long")).alias("active_addon_count"),
        "first_subscription_date",
        "latest_subscription_date",
        F.coalesce("lifetime_tickets", F.lit(0).cast("long")).alias("lifetime_tickets"),
        F.coalesce("open_tickets", F.lit(0).cast("long")).alias("open_tickets"),
        F.coalesce("avg_csat", F.lit(0.0)).alias("avg_csat"),
        F.coalesce("avg_resolution_hours", F.lit(0.0)).alias("avg_resolution_hours"),
        F.coalesce("sla_breaches", F.lit(0).cast("long")).alias("sla_breaches"),
        lifecycle_stage.alias("lifecycle_stage"),
    )
