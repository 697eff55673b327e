"""The run's as-of date when none is configured: the latest date found in the accepted data.

Example::

    >>> latest_data_date(stg_accounts, stg_invoices, stg_usage_events, stg_support_tickets).first()[0]
    datetime.date(2025, 1, 31)
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

STAGING_INPUTS = ("stg_accounts", "stg_invoices", "stg_usage_events", "stg_support_tickets")


def latest_data_date(
    stg_accounts: DataFrame,
    stg_invoices: DataFrame,
    stg_usage_events: DataFrame,
    stg_support_tickets: DataFrame,
) -> DataFrame:
    """One row, one column ``as_of_date``: max of signup, invoice, event and ticket-created dates."""
    dates = (
        stg_accounts.select(F.col("signup_date").alias("d"))
        .unionByName(stg_invoices.select(F.col("invoice_date").alias("d")))
        .unionByName(stg_usage_events.select(F.col("event_date").alias("d")))
        .unionByName(stg_support_tickets.select(F.to_date("created_at").alias("d")))
    )
    return dates.agg(F.max("d").alias("as_of_date"))
