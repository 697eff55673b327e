"""sla_adherence: monthly SLA adherence and resolution-time percentiles by priority and by account segment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from novacrm_spark.columns import round_half_away, year_month
from novacrm_spark.domains import OPEN_TICKET_STATUSES
from novacrm_spark.model import model
from novacrm_spark.models.marts._rules import exact_mean, exact_pct

GROUP = ("ticket_year_month", "dimension_type", "dimension_value")
# Hours are stored rounded to 1 decimal; this holds them exactly with room for any count.
HOURS = "decimal(20,6)"


@model
def sla_adherence(dim_account: DataFrame, fct_tickets: DataFrame, *, as_of_date: date) -> DataFrame:
    """One row per created month and priority, and per created month and account segment, with SLA facts.

    Tickets of accounts in dim_account, created on or before D, grouped by
    ticket_year_month ("2024-03", from created_date) and either
    dimension_type 'priority' (dimension_value p1..p4) or 'segment'
    (dim_account.account_segment). Combinations without tickets have no row.

    - total_tickets; resolved_tickets (status resolved); sla_breaches
      (resolved and is_sla_breach); within_sla (resolved and not breached);
      unresolved_tickets (status open/escalated).
    - sla_adherence_pct = within_sla / resolved_tickets x 100, rounded to 1
      (null when none resolved).
    - avg_resolution_hours, median_resolution_hours, p90_resolution_hours over
      resolved tickets with a resolution_hours (the stored, rounded values):
      exact mean, and exact linear interpolation at position p x (n - 1) of
      the sorted values (v[lo] + frac x (v[lo+1] - v[lo])), all in decimal and
      rounded half away to 1; null when no resolved ticket.
    - avg_csat = exact mean of non-null satisfaction scores (any status),
      rounded to 2; null when no rated ticket (no rating is not a 0 rating).

    Example: resolved p2 tickets of 2024-03 taking [1.0, 2.0, 3.0, 10.0] hours
    -> median 2.5 (position 1.5), p90 7.9 (position 2.7: 3 + 0.7 x 7).
    """
    segments = dim_account.where(F.col("signup_date") <= F.lit(as_of_date)).select(
        "account_id", "account_segment"
    )
    tickets = fct_tickets.where(F.col("created_date") <= F.lit(as_of_date)).join(segments, "account_id")

    # Each ticket once per dimension: explode beats a union of two scans.
    dimensions = F.array(
        F.struct(F.lit("priority").alias("type"), F.col("priority").alias("value")),
        F.struct(F.lit("segment").alias("type"), F.col("account_segment").alias("value")),
    )
    resolved = F.col("status") == "resolved"
    timed = resolved & F.col("resolution_hours").isNotNull()
    long = (
        tickets.select("*", F.explode(dimensions).alias("_dim"))
        .select(
            year_month("created_date").alias("ticket_year_month"),
            F.col("_dim.type").alias("dimension_type"),
            F.col("_dim.value").alias("dimension_value"),
            "ticket_id",
            "status",
            "is_sla_breach",
            "satisfaction_score",
            F.col("resolution_hours").cast(HOURS).alias("_hours"),
            timed.alias("_timed"),
        )
    )

    # Rank the timed tickets of each group by hours (ticket_id breaks ties so ranks are
    # stable); the untimed rows get ranks in their own partition that are never used.
    sorted_hours = Window.partitionBy(*GROUP, "_timed").orderBy(F.col("_hours").asc(), F.col("ticket_id").asc())
    ranked = long.withColumn("_rank", F.row_number().over(sorted_hours) - 1).withColumn(
        "_n", F.count(F.lit(1)).over(Window.partitionBy(*GROUP, "_timed"))
    )

    status = F.col("status")
    return ranked.groupBy(*GROUP).agg(
        F.count(F.lit(1)).cast("long").alias("total_tickets"),
        F.count_if(status == "resolved").alias("resolved_tickets"),
        F.count_if((status == "resolved") & F.col("is_sla_breach")).alias("sla_breaches"),
        F.count_if((status == "resolved") & ~F.col("is_sla_breach")).alias("within_sla"),
        F.count_if(status.isin(*OPEN_TICKET_STATUSES)).alias("unresolved_tickets"),
        exact_pct(
            F.count_if((status == "resolved") & ~F.col("is_sla_breach")), F.count_if(status == "resolved")
        ).alias("sla_adherence_pct"),
        round_half_away(exact_mean(F.when(F.col("_timed"), F.col("_hours"))), 1).alias("avg_resolution_hours"),
        round_half_away(_percentile(Decimal("0.5")), 1).alias("median_resolution_hours"),
        round_half_away(_percentile(Decimal("0.9")), 1).alias("p90_resolution_hours"),
        round_half_away(exact_mean("satisfaction_score"), 2).alias("avg_csat"),
    )


def _percentile(p: Decimal) -> Column:
    """Exact linearly interpolated percentile of ``_hours`` over the group's timed rows (an aggregate).

    With pos = p x (n - 1), lo = floor(pos) and frac = pos - lo, the value is
    v[lo] x (1 - frac) + v[lo + 1] x frac: each timed row contributes its own
    weighted share and the sum adds them up. When frac = 0 the v[lo + 1] term
    has weight 0 (and may not exist). Null over a group with no timed rows.
    """
    position = (F.col("_n") - 1).cast("decimal(20,0)") * F.lit(p)
    low = F.floor(position)
    # p has one decimal (0.5, 0.9), so pos and frac have exactly one too.
    frac = (position - low).cast("decimal(2,1)")
    weight = (
        F.when(F.col("_rank") == low, F.lit(1).cast("decimal(2,1)") - frac)
        .when(F.col("_rank") == low + 1, frac)
        .otherwise(F.lit(0).cast("decimal(2,1)"))
    )
    return F.sum(F.when(F.col("_timed"), F.col("_hours") * weight))
