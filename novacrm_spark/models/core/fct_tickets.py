"""fct_tickets: support tickets with SLA, speed and satisfaction classifications."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.columns import EXACT, round_half_away, whole_minutes_between, year_month
from novacrm_spark.domains import OPEN_TICKET_STATUSES
from novacrm_spark.model import model
from novacrm_spark.models.core._rules import accounts_as_of

TICKET_COLUMNS = (
    "ticket_id",
    "account_id",
    "created_at",
    "resolved_at",
    "priority",
    "category",
    "status",
    "satisfaction_score",
    "resolution_hours",
    "sla_target_hours",
    "is_sla_breach",
    "created_date",
)


@model
def fct_tickets(stg_accounts: DataFrame, stg_support_tickets: DataFrame, *, as_of_date: date) -> DataFrame:
    """One row per support ticket created by the as-of date, with SLA ratio, resolution speed, CSAT tier and account attributes.

    Point in time: accounts signed up by D, tickets with created_date <= D
    (status and resolution are the export's current values). sla_ratio =
    round(resolution_hours / sla_target_hours, 2) in decimals, on the stored
    (rounded) resolution_hours; null when unresolved. resolution_speed is
    'unresolved' when the status is open/escalated or resolved_at is null;
    otherwise it compares the exact elapsed hours W / 60 (W = whole minutes,
    as for is_sla_breach) with the target: fast <= 0.5 x target, on_time <=
    target, slow <= 1.5 x target, else critical_breach. csat_tier: no_rating
    (null score), satisfied (>= 4), neutral (>= 3), else dissatisfied.

    Example: a p1 ticket (target 4 h) resolved 2 h 00 min 59 s after creation
    has W = 120, resolution_hours 2.0, sla_ratio 0.5, resolution_speed fast.
    """
    accounts = accounts_as_of(stg_accounts, as_of_date).select(
        "account_id",
        F.col("plan_tier").alias("account_plan_tier"),
        "account_owner",
        F.col("region").alias("account_region"),
    )
    # The inner join with the point-in-time accounts both filters and enriches.
    tickets = stg_support_tickets.where(F.col("created_date") <= F.lit(as_of_date))

    target = F.col("sla_target_hours")
    # Compare whole minutes with the target in minutes: W / 60 <= k x target
    # exactly when W <= 60 k x target, with no rounding anywhere.
    minutes = whole_minutes_between("created_at", "resolved_at")
    resolution_speed = (
        F.when(F.col("status").isin(*OPEN_TICKET_STATUSES) | F.col("resolved_at").isNull(), F.lit("unresolved"))
        .when(minutes <= target * 30, F.lit("fast"))
        .when(minutes <= target * 60, F.lit("on_time"))
        .when(minutes <= target * 90, F.lit("slow"))
        .otherwise(F.lit("critical_breach"))
    )
    score = F.col("satisfaction_score")
    csat_tier = (
        F.when(score.isNull(), F.lit("no_rating"))
        .when(score >= 4, F.lit("satisfied"))
        .when(score >= 3, F.lit("neutral"))
        .otherwise(F.lit("dissatisfied"))
    )

    return tickets.join(accounts, "account_id", "inner").select(
        *TICKET_COLUMNS,
        F.month("created_date").alias("created_month"),
        year_month("created_date").alias("created_year_month"),
        round_half_away(F.col("resolution_hours").cast(EXACT) / target, 2).alias("sla_ratio"),
        resolution_speed.alias("resolution_speed"),
        csat_tier.alias("csat_tier"),
        "account_plan_tier",
        "account_owner",
        "account_region",
    )
