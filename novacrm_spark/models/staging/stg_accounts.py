"""stg_accounts: one cleaned, typed row per account of the raw export."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame

from novacrm_spark import domains
from novacrm_spark.columns import parse_date, parse_int
from novacrm_spark.models.staging._validation import SourceRules, split, typed, validate
from novacrm_spark.model import StagingResult, model
from novacrm_spark.sources import SOURCES

RULES = SourceRules(
    source=SOURCES["accounts"],
    required=("account_id", "company_name", "plan_tier", "signup_date", "status"),
    codes=("industry", "plan_tier", "region", "status"),
    parsers={"employee_count": parse_int, "signup_date": parse_date},
    domains={
        "plan_tier": domains.PLAN_TIERS,
        "region": domains.REGIONS,
        "status": domains.ACCOUNT_STATUSES,
    },
    ranges={"employee_count": (0, None)},
    references_accounts=False,
)


@model
def stg_accounts(raw_accounts: DataFrame, *, loaded_at: dt.datetime) -> StagingResult:
    """One row per accepted account: trimmed text, lower-case codes, typed count and date.

    Example: `` Growth `` becomes ``growth``; ``employee_count`` ``"42.0"`` is quarantined.
    """
    validated = validate(raw_accounts, RULES)
    return split(
        validated,
        RULES,
        [
            "account_id",
            "company_name",
            "industry",
            typed("employee_count").alias("employee_count"),
            "plan_tier",
            "account_owner",
            "region",
            typed("signup_date").alias("signup_date"),
            "status",
        ],
        loaded_at,
    )


