"""Rules private to the core layer: the point-in-time view and the exact money sum.

Every core table sees the world as it was known on the as-of date ``D``: only
accounts that signed up on or before ``D`` and only their records dated on or
before ``D``.

Example::

    >>> accounts = accounts_as_of(stg_accounts, as_of_date)
    >>> tickets = records_as_of(stg_support_tickets, accounts, "created_date", as_of_date)
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from novacrm_spark.columns import MONEY

PLATFORM_PRODUCT = "novacrm_platform"


def accounts_as_of(stg_accounts: DataFrame, as_of_date: date) -> DataFrame:
    """Accounts that signed up on or before ``D`` (``_loaded_at`` dropped)."""
    return stg_accounts.where(F.col("signup_date") <= F.lit(as_of_date)).drop("_loaded_at")


def records_as_of(records: DataFrame, accounts: DataFrame, date_column: str, as_of_date: date) -> DataFrame:
    """``records`` dated on or before ``D`` that belong to one of ``accounts``.

    A left-semi join keeps the records' own columns only, so callers decide
    which account attributes (if any) to bring along.
    """
    dated = records.where(F.col(date_column) <= F.lit(as_of_date))
    return dated.join(accounts.select("account_id"), on="account_id", how="left_semi")


def money_sum(c: Column) -> Column:
    """Exact sum of a money column, as ``decimal(18,2)`` (null over no rows)."""
    return F.sum(c).cast(MONEY)
