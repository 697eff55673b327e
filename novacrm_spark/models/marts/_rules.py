"""Rules private to the marts layer: the as-of month, point-in-time filters and exact arithmetic.

Marts read core tables that are already point in time, but every mart filters
again on its own dates (belt and braces: a mart must never see a record dated
after ``D`` even if it is handed a wider table, e.g. in a test).

Example::

    >>> M = as_of_month(date(2024, 3, 17))          # date(2024, 3, 1)
    >>> df.select(exact_pct(F.col("kept"), F.col("total")).alias("kept_pct"))
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column
from pyspark.sql import functions as F

from novacrm_spark.columns import EXACT, MONEY, round_half_away

# Operand type for ratios. Spark sizes a decimal quotient from its operands'
# precision; (20,4) operands leave 14+ fraction digits in the quotient, while
# decimal(38,12) operands would be cut down to 6. 16 integer digits are ample
# for money sums and counts.
_RATIO_OPERAND = "decimal(20,4)"


def as_of_month(as_of_date: date) -> date:
    """``M``: the first day of the month containing ``D``."""
    return as_of_date.replace(day=1)


def exact_mean(c: Column | str) -> Column:
    """Mean of the non-null values in exact decimal arithmetic (null over no values).

    A double mean of 4.4 and 4.5 is 4.4499999..., which would round to 4.4; the
    decimal mean is exactly 4.45 and rounds half away to 4.5.
    """
    return F.avg((F.col(c) if isinstance(c, str) else c).cast(EXACT))


def exact_ratio(numerator: Column, denominator: Column, factor: int = 1) -> Column:
    """``numerator * factor / denominator`` as an exact decimal; null when the denominator is 0 or null."""
    n = numerator.cast(_RATIO_OPERAND)
    if factor != 1:
        n = n * F.lit(factor).cast("decimal(4,0)")
    d = denominator.cast(_RATIO_OPERAND)
    # The guard keeps ANSI mode from raising on a zero denominator.
    return F.when(d != 0, n / d)


def exact_pct(numerator: Column, denominator: Column, scale: int = 1) -> Column:
    """``round(numerator / denominator x 100, scale)`` in decimal, as double; null when denominator is 0.

    ``exact_pct(F.lit(1), F.lit(8))`` -> 12.5; ``exact_pct(F.lit(-49), F.lit(400))`` -> -12.3 (half away).
    """
    return round_half_away(exact_ratio(numerator, denominator, factor=100), scale)


def round_money(c: Column) -> Column:
    """Round half away from zero to cents, as ``decimal(18,2)`` (Spark rounds decimals HALF_UP)."""
    return F.round(c.cast(EXACT), 2).cast(MONEY)


def zero_money() -> Column:
    """``0.00`` as ``decimal(18,2)``: the fill value for money with nothing to sum."""
    return F.lit(0).cast(MONEY)


def zero_count() -> Column:
    """``0`` as bigint: the fill value for counts with nothing to count."""
    return F.lit(0).cast("long")
