"""Reusable ``Column`` helpers: the business rules that more than one model applies.

Every helper takes and returns :class:`pyspark.sql.Column` objects, so it
composes inside ``select``/``withColumn`` and stays in Spark's engine.

Example::

    >>> df.select(classify_segment("plan_tier", "employee_count").alias("account_segment"))
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

ColumnOrName = Column | str

DATE_OR_TIMESTAMP_RE = r"^(?!0000)\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,6})?)?$"
NUMBER_RE = r"^-?\d+(\.\d+)?$"
INTEGER_RE = r"^-?\d+$"
MONEY = "decimal(18,2)"
# Wide enough for exact intermediate sums and means before rounding.
EXACT = "decimal(38,12)"

EVENT_CATEGORIES = {
    "reporting": ("dashboard_viewed", "report_created", "export_generated"),
    "crm_core": ("contact_added", "deal_updated", "note_added"),
    "communication": ("email_sent", "meeting_logged", "task_completed"),
    "advanced": ("api_call", "integration_configured", "workflow_created"),
    "platform": ("search_performed", "filter_applied", "user_invited"),
}
SLA_TARGET_HOURS = {"p1": 4, "p2": 12, "p3": 48, "p4": 120}
# The revenue ledger's movement amounts, in bridge order: ending MRR = starting MRR
# + new + reactivation + expansion - contraction - churned (fct_revenue, nrr_summary, the report).
MOVEMENT_AMOUNTS = ("new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr")


def _col(c: ColumnOrName) -> Column:
    return F.col(c) if isinstance(c, str) else c


# --- cleaning and strict parsing (staging) ---------------------------------


def clean_text(c: ColumnOrName) -> Column:
    """Trimmed text; an empty string becomes null.  ``"  Acme "`` -> ``"Acme"``, ``" "`` -> null."""
    trimmed = F.trim(_col(c))
    return F.when(trimmed != "", trimmed)


def clean_code(c: ColumnOrName) -> Column:
    """A code: ``lower(trim())``, empty -> null.  ``" Growth "`` -> ``"growth"``."""
    return F.lower(clean_text(c))


def clean_currency(c: ColumnOrName) -> Column:
    """A currency code: ``upper(trim())``, empty -> null.  ``" usd"`` -> ``"USD"``."""
    return F.upper(clean_text(c))


def parse_timestamp(c: ColumnOrName) -> Column:
    """Strict ``YYYY-MM-DD[THH:MM:SS[.ffffff]]`` -> timestamp (a bare date is midnight); else null."""
    text = _col(c)
    # The pattern fixes the shape; the cast (about 5x cheaper than a format-driven parse)
    # then rejects impossible dates and times (2024-02-30, 25:00) as null.
    return F.when(text.rlike(DATE_OR_TIMESTAMP_RE), text.try_cast("timestamp"))


def parse_date(c: ColumnOrName) -> Column:
    """Strict date; a valid time part is allowed and dropped.  ``"2024-06-04T00:00:00"`` -> 2024-06-04."""
    return F.to_date(parse_timestamp(c))


def parse_money(c: ColumnOrName) -> Column:
    """Plain decimal text -> ``decimal(18,2)``, rounded half away from zero; else null."""
    text = _col(c)
    exact = text.try_cast("decimal(38,18)")
    return F.when(text.rlike(NUMBER_RE), F.round(exact, 2).try_cast(MONEY))


def parse_int(c: ColumnOrName) -> Column:
    """Integral text -> int (``"42.0"`` is rejected); else null."""
    text = _col(c)
    return F.when(text.rlike(INTEGER_RE), text.try_cast("int"))


def parse_double(c: ColumnOrName) -> Column:
    """Plain decimal text -> double; else null."""
    text = _col(c)
    return F.when(text.rlike(NUMBER_RE), text.try_cast("double"))


def event_category(event_name: ColumnOrName) -> Column:
    """The product area of an event; unknown events are ``other``."""
    name = _col(event_name)
    result = None
    for category, events in EVENT_CATEGORIES.items():
        branch = name.isin(*events)
        result = F.when(branch, F.lit(category)) if result is None else result.when(branch, F.lit(category))
    return result.otherwise(F.lit("other"))


def sla_target_hours(priority: ColumnOrName) -> Column:
    """Resolution target in hours by priority (p1 4, p2 12, p3 48, p4 120)."""
    p = _col(priority)
    result = None
    for code, hours in SLA_TARGET_HOURS.items():
        result = F.when(p == code, F.lit(hours)) if result is None else result.when(p == code, F.lit(hours))
    return result


def whole_minutes_between(start: ColumnOrName, end: ColumnOrName) -> Column:
    """Whole minutes from ``start`` to ``end``: the exact difference truncated toward zero."""
    micros = F.unix_micros(_col(end)) - F.unix_micros(_col(start))
    # Integer division truncates toward zero for either sign.
    return (F.abs(micros) / F.lit(60_000_000)).cast("long") * F.signum(micros).cast("long")


def hours_from_minutes(minutes: ColumnOrName) -> Column:
    """``round(minutes / 60, 1)`` in exact decimal arithmetic, as a double."""
    return round_half_away(_col(minutes).cast(EXACT) / F.lit(60), 1)


# --- arithmetic and calendar --------------------------------------------------


def round_half_away(c: ColumnOrName, scale: int) -> Column:
    """Round half away from zero on the exact (decimal) value, returned as double.

    ``21.45 -> 21.5``, ``-12.25 -> -12.3``. Spark's ``round`` on a decimal is HALF_UP,
    which is half away from zero.
    """
    return F.round(_col(c).cast(EXACT), scale).cast("double")


def month_diff(start: ColumnOrName, end: ColumnOrName) -> Column:
    """Calendar-month boundaries crossed from ``start`` to ``end``: ``(y2*12+m2) - (y1*12+m1)``."""
    s, e = _col(start), _col(end)
    return (F.year(e) * 12 + F.month(e)) - (F.year(s) * 12 + F.month(s))


def month_start(c: ColumnOrName) -> Column:
    """First day of the month of a date."""
    return F.trunc(_col(c), "month")


def year_month(c: ColumnOrName) -> Column:
    """``"2024-03"`` for any day (or time) of March 2024."""
    return F.date_format(_col(c), "yyyy-MM")


def within_last_days(d: ColumnOrName, as_of_date, days: int) -> Column:
    """``D - days <= d <= D`` (the spec's "last N days", both ends inclusive)."""
    as_of = F.lit(as_of_date)
    return (_col(d) >= F.date_sub(as_of, days)) & (_col(d) <= as_of)


# --- business rules ------------------------------------------------------------


def classify_segment(plan_tier: ColumnOrName, employee_count: ColumnOrName) -> Column:
    """Macro ``classify_segment``: enterprise / mid_market / smb.

    enterprise if plan_tier = enterprise or employees > 500; else mid_market if
    plan_tier = growth or employees > 50; else smb. A null employee count decides nothing.
    """
    tier, employees = _col(plan_tier), _col(employee_count)
    return (
        F.when((tier == "enterprise") | F.coalesce(employees > 500, F.lit(False)), F.lit("enterprise"))
        .when((tier == "growth") | F.coalesce(employees > 50, F.lit(False)), F.lit("mid_market"))
        .otherwise(F.lit("smb"))
    )


def calculate_health_score(
    usage: ColumnOrName, support: ColumnOrName, revenue: ColumnOrName, engagement: ColumnOrName
) -> Column:
    """Macro ``calculate_health_score``: round(0.30 usage + 0.20 support + 0.25 revenue + 0.25 engagement, 1).

    Weighted in exact decimals so that e.g. 52.25 rounds to 52.3.
    """

    def weighted(c: ColumnOrName, weight: str) -> Column:
        return _col(c).cast(EXACT) * F.lit(weight).cast("decimal(3,2)")

    total = weighted(usage, "0.30") + weighted(support, "0.20") + weighted(revenue, "0.25")
    return round_half_away(total + weighted(engagement, "0.25"), 1)
