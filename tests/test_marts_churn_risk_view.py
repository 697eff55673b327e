"""churn_risk_view on hand-built inputs; every expected value is derived by hand from the spec.

D = 2024-06-30: last 30 days = 2024-05-31 ... 2024-06-30; previous 30 days = 2024-05-01 ... 2024-05-30;
last 90 days = 2024-04-01 ... 2024-06-30; M = 2024-06-01 and the 6 months are 2024-01 ... 2024-06.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality

from novacrm_spark.models.marts.churn_risk_view import churn_risk_view

from table_schemas import (
    CHURN_RISK_VIEW as OUTPUT,
    CUSTOMER_HEALTH_SCORES as HEALTH,
    FCT_REVENUE,
    FCT_TICKETS,
    FCT_USAGE,
)

D = dt.date(2024, 6, 30)

SCORED_AT = dt.datetime(2025, 1, 1)  # the upstream run's stamp; assessed_at must be this run's loaded_at


def tier(score: float) -> str:  # only a pass-through here
    return "critical" if score < 20 else "at_risk" if score < 40 else "neutral" if score < 60 else "healthy"


def identity(account_id: str, health: float) -> tuple:
    """The identity and health columns, in churn_risk_view's order."""
    n = int(account_id[1:])
    mrr = Decimal(f"{n}00.00")
    return (account_id, f"Co {account_id}", "smb", "starter", f"owner_{n}", "apac", mrr, mrr * 12, n, health,
            tier(health))


def health_row(account_id: str, health: float) -> tuple:
    a = identity(account_id, health)
    return (a[0], a[1], a[2], a[3], a[8], a[6], a[7], a[4], "mature", a[5], 0, 50, 50, 0, 0.0, 0, 0.0,
            Decimal("0.00"), Decimal("0.00"), 0, health, a[10], 1, SCORED_AT)


def usage(account_id: str, day: dt.date, total: int) -> tuple:
    at = dt.datetime.combine(day, dt.time(9))
    return (account_id, day, total, 1, 1, 1, total, 0, 0, 0, 0, 0, 0, 0, at, at, 0.0, 20.0, False)


def ticket(ticket_id: str, account_id: str, day: dt.date, status: str, priority: str) -> tuple:
    created = dt.datetime.combine(day, dt.time(9))
    return (ticket_id, account_id, created, None, priority, "bug", status, None, None, 12, None, day, day.month,
            day.strftime("%Y-%m"), None, "unresolved", "no_rating", "starter", "owner", "apac")


def revenue(account_id: str, month: dt.date, movement: str) -> tuple:
    # Only revenue_movement and revenue_month matter here; amounts follow a 100 -> 50 contraction shape.
    z = Decimal("0.00")
    return (account_id, month, Decimal("50.00"), Decimal("50.00"), Decimal("600.00"), Decimal("100.00"), movement,
            z, z, z, Decimal("50.00") if movement == "contraction" else z, z, Decimal("-50.00"), 2, month)


def _build(spark, loaded_at):
    d = dt.date
    health = [health_row(a, h) for a, h in (
        ("r1", 19.9), ("r2", 20.0), ("r3", 70.0), ("r4", 70.0), ("r5", 80.0), ("r6", 59.9), ("r7", 60.0),
        ("r8", 60.0), ("r9", 10.0),
    )]
    usage_rows = [
        # r2: +1 on 3 -> 33.3
        usage("r2", d(2024, 6, 1), 4), usage("r2", d(2024, 5, 10), 3),
        # r3: last = 49 (D-30 counts in last); prev = 60 (D-60) + 40 (D-31) = 100; D-61 and after D ignored
        usage("r3", d(2024, 5, 31), 49), usage("r3", d(2024, 5, 1), 60), usage("r3", d(2024, 5, 30), 40),
        usage("r3", d(2024, 4, 30), 1000), usage("r3", d(2024, 7, 1), 1000),
        # r4: 50 is not < 0.5 x 100 -> not declining, -50.0
        usage("r4", D, 50), usage("r4", d(2024, 5, 15), 100),
        # r6: (351 - 400) / 400 = -12.25 % -> -12.3 (half away from zero)
        usage("r6", d(2024, 6, 20), 351), usage("r6", d(2024, 5, 20), 400),
        # r8: prev = 0 -> 0.0 and not declining
        usage("r8", d(2024, 6, 2), 5),
        # r9: 10 vs 100 -> declining, -90.0
        usage("r9", d(2024, 6, 3), 10), usage("r9", d(2024, 5, 3), 100),
        # not a scored account
        usage("z1", d(2024, 6, 3), 10),
    ]
    tickets = [
        # r5: escalated on D-90 (p1, counts) and 2024-06-10 (p3); D-91, after D and open ones do not count
        ticket("t1", "r5", d(2024, 4, 1), "escalated", "p1"),
        ticket("t2", "r5", d(2024, 6, 10), "escalated", "p3"),
        ticket("t3", "r5", d(2024, 3, 31), "escalated", "p2"),
        ticket("t4", "r5", d(2024, 6, 1), "open", "p1"),
        ticket("t5", "r5", d(2024, 7, 1), "escalated", "p2"),
        # r8: one escalation -> not enough
        ticket("t6", "r8", d(2024, 5, 1), "escalated", "p2"),
        # r9: two, both high priority
        ticket("t7", "r9", d(2024, 6, 5), "escalated", "p1"),
        ticket("t8", "r9", d(2024, 6, 6), "escalated", "p2"),
        ticket("t9", "z1", d(2024, 6, 6), "escalated", "p2"),
    ]
    revenue_rows = [
        # r7: 2024-01 (M-5, counts) and a churn row in 2024-06; 2023-12, 2024-07 and non-contractions do not count
        revenue("r7", d(2024, 1, 1), "contraction"), revenue("r7", d(2024, 6, 1), "churn"),
        revenue("r7", d(2023, 12, 1), "contraction"), revenue("r7", d(2024, 7, 1), "contraction"),
        revenue("r7", d(2024, 3, 1), "expansion"), revenue("r7", d(2024, 4, 1), "flat"),
        # r8: one month only
        revenue("r8", d(2024, 3, 1), "contraction"),
        # r9: two
        revenue("r9", d(2024, 2, 1), "contraction"), revenue("r9", d(2024, 4, 1), "contraction"),
        revenue("z1", d(2024, 4, 1), "contraction"),
    ]
    return churn_risk_view(
        spark.createDataFrame(health, HEALTH),
        spark.createDataFrame(usage_rows, FCT_USAGE),
        spark.createDataFrame(tickets, FCT_TICKETS),
        spark.createDataFrame(revenue_rows, FCT_REVENUE),
        as_of_date=D,
        loaded_at=loaded_at,
    )


def test_signals_flags_and_risk_levels(spark, loaded_at):
    actual = _build(spark, loaded_at)
    F_, T = False, True
    rows = [
        # id, health, last, prev, change, esc, high, contr, low, declining, escal, contraction, count, level
        ("r1", 19.9, 0, 0, 0.0, 0, 0, 0, T, F_, F_, F_, 1, "critical"),
        ("r2", 20.0, 4, 3, 33.3, 0, 0, 0, T, F_, F_, F_, 1, "high"),
        ("r3", 70.0, 49, 100, -51.0, 0, 0, 0, F_, T, F_, F_, 1, "high"),
        ("r4", 70.0, 50, 100, -50.0, 0, 0, 0, F_, F_, F_, F_, 0, "low"),
        ("r5", 80.0, 0, 0, 0.0, 2, 1, 0, F_, F_, T, F_, 1, "high"),
        ("r6", 59.9, 351, 400, -12.3, 0, 0, 0, F_, F_, F_, F_, 0, "medium"),
        ("r7", 60.0, 0, 0, 0.0, 0, 0, 2, F_, F_, F_, T, 1, "medium"),
        ("r8", 60.0, 5, 0, 0.0, 1, 1, 1, F_, F_, F_, F_, 0, "low"),
        ("r9", 10.0, 10, 100, -90.0, 2, 2, 2, T, T, T, T, 4, "critical"),
    ]
    expected = spark.createDataFrame(
        [(*identity(r[0], r[1]), *r[2:], loaded_at) for r in rows], OUTPUT
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_output_schema(spark, loaded_at):
    actual = _build(spark, loaded_at)
    expected = [(f.name, f.dataType.simpleString()) for f in spark.createDataFrame([], OUTPUT).schema.fields]
    assert [(f.name, f.dataType.simpleString()) for f in actual.schema.fields] == expected
