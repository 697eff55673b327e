"""stg_invoices: one cleaned, typed row per invoice."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from novacrm_spark import domains
from novacrm_spark.columns import month_start, parse_date, parse_money
from novacrm_spark.models.staging._validation import SourceRules, split, typed, validate
from novacrm_spark.model import StagingResult, model
from novacrm_spark.sources import SOURCES

RULES = SourceRules(
    source=SOURCES["invoices"],
    required=("account_id", "invoice_date", "amount", "status"),
    codes=("status",),
    upper_codes=("currency",),
    parsers={"invoice_date": parse_date, "amount": parse_money},
    domains={"status": domains.INVOICE_STATUSES, "currency": domains.CURRENCIES},
    ranges={"amount": (0, None)},
)


def product_list(line_items: Column) -> Column:
    """``"novacrm_platform| API_access"`` -> ``["novacrm_platform", "api_access"]`` (empty items dropped)."""
    items = F.transform(F.split(line_items, r"\|"), lambda item: F.lower(F.trim(item)))
    return F.filter(items, lambda item: item != "")


@model
def stg_invoices(raw_invoices: DataFrame, stg_accounts: DataFrame, *, loaded_at: dt.datetime) -> StagingResult:
    """One row per accepted invoice, with its month and paid/billed flags.

    ``line_items`` is the product list as an array of product codes;
    ``is_billed`` is false only for void invoices (void is not revenue).
    """
    validated = validate(raw_invoices, RULES, stg_accounts)
    return split(
        validated,
        RULES,
        [
            "invoice_id",
            "account_id",
            typed("invoice_date").alias("invoice_date"),
            typed("amount").alias("amount"),
            "currency",
            "status",
            product_list(F.col("line_items")).alias("line_items"),
            month_start(typed("invoice_date")).alias("invoice_month"),
            (F.col("status") == "paid").alias("is_paid"),
            (F.col("status") != "void").alias("is_billed"),
        ],
        loaded_at,
    )
