"""stg_support_tickets: one cleaned, typed row per support ticket, with SLA facts."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from novacrm_spark import domains
from novacrm_spark.columns import (
    hours_from_minutes,
    parse_double,
    parse_timestamp,
    sla_target_hours,
    whole_minutes_between,
)
from novacrm_spark.models.staging._validation import SourceRules, split, typed, validate
from novacrm_spark.model import StagingResult, model
from novacrm_spark.sources import SOURCES


def status_disagrees_with_resolution() -> list[tuple[Column, str]]:
    """A resolved ticket needs resolved_at >= created_at; an open or escalated one has none.

    Unparseable timestamps are left to the parse rule that follows.
    """
    status, resolved_text = F.col("status"), F.col("resolved_at")
    created, resolved = typed("created_at"), typed("resolved_at")
    return [
        ((status == "resolved") & resolved_text.isNull(), "resolved ticket without resolved_at"),
        ((status == "resolved") & (resolved < created), "resolved_at before created_at"),
        (status.isin(*domains.OPEN_TICKET_STATUSES) & resolved_text.isNotNull(), "open ticket with resolved_at"),
    ]


RULES = SourceRules(
    source=SOURCES["support_tickets"],
    required=("account_id", "created_at", "priority", "status"),
    codes=("priority", "category", "status"),
    parsers={
        "created_at": parse_timestamp,
        "resolved_at": parse_timestamp,
        "satisfaction_score": parse_double,
    },
    domains={
        "priority": domains.TICKET_PRIORITIES,
        "category": domains.TICKET_CATEGORIES,
        "status": domains.TICKET_STATUSES,
    },
    ranges={"satisfaction_score": (1.0, 5.0)},
    consistency=status_disagrees_with_resolution,
)


@model
def stg_support_tickets(
    raw_support_tickets: DataFrame, stg_accounts: DataFrame, *, loaded_at: dt.datetime
) -> StagingResult:
    """One row per accepted ticket with resolution hours and SLA breach.

    resolution_hours = round(W / 60, 1) with W the whole minutes from created_at
    to resolved_at; is_sla_breach = W / 60 > target (null while unresolved).
    Example: p1 created 09:00, resolved 13:00:59 -> W = 240, 4.0 h, no breach.
    """
    validated = validate(raw_support_tickets, RULES, stg_accounts)
    created, resolved = typed("created_at"), typed("resolved_at")
    minutes = whole_minutes_between(created, resolved)
    target = sla_target_hours("priority")
    return split(
        validated,
        RULES,
        [
            "ticket_id",
            "account_id",
            created.alias("created_at"),
            resolved.alias("resolved_at"),
            "priority",
            "category",
            "status",
            typed("satisfaction_score").alias("satisfaction_score"),
            hours_from_minutes(minutes).alias("resolution_hours"),
            target.alias("sla_target_hours"),
            F.when(resolved.isNotNull(), minutes > target * 60).alias("is_sla_breach"),
            F.to_date(created).alias("created_date"),
        ],
        loaded_at,
    )
