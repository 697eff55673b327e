"""stg_subscriptions: one cleaned, typed row per subscription."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark import domains
from novacrm_spark.columns import parse_date, parse_money
from novacrm_spark.models.staging._validation import SourceRules, split, typed, validate
from novacrm_spark.model import StagingResult, model
from novacrm_spark.sources import SOURCES

RULES = SourceRules(
    source=SOURCES["subscriptions"],
    required=("account_id", "product_name", "plan_tier", "mrr_amount", "start_date", "status"),
    codes=("product_name", "plan_tier", "status"),
    parsers={"mrr_amount": parse_money, "start_date": parse_date, "end_date": parse_date},
    domains={
        "product_name": domains.PRODUCTS,
        "plan_tier": domains.PLAN_TIERS,
        "status": domains.SUBSCRIPTION_STATUSES,
    },
    ranges={"mrr_amount": (0, None)},
)


@model
def stg_subscriptions(
    raw_subscriptions: DataFrame, stg_accounts: DataFrame, *, loaded_at: dt.datetime
) -> StagingResult:
    """One row per accepted subscription, with ``is_active`` and ``duration_days``.

    Dates keep their date part (``2024-06-04T00:00:00`` -> 2024-06-04);
    ``duration_days`` is null while the subscription has no end date.
    """
    validated = validate(raw_subscriptions, RULES, stg_accounts)
    start, end = typed("start_date"), typed("end_date")
    return split(
        validated,
        RULES,
        [
            "subscription_id",
            "account_id",
            "product_name",
            "plan_tier",
            typed("mrr_amount").alias("mrr_amount"),
            start.alias("start_date"),
            end.alias("end_date"),
            "status",
            (F.col("status") == "active").alias("is_active"),
            F.datediff(end, start).alias("duration_days"),
        ],
        loaded_at,
    )
