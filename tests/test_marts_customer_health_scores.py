"""customer_health_scores on hand-built core tables; every expected value is derived by hand from the spec.

D = 2024-06-30, so the "last 30 days" are 2024-05-31 ... 2024-06-30 and M = 2024-06-01.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import functions as F

from novacrm_spark.models.marts.customer_health_scores import _health_tier, customer_health_scores

from table_schemas import (
    CUSTOMER_HEALTH_SCORES as OUTPUT,
    DIM_ACCOUNT,
    FCT_REVENUE,
    FCT_TICKETS,
    FCT_USAGE,
    STG_USAGE_EVENTS,
)

D = dt.date(2024, 6, 30)
D_MINUS_30 = dt.date(2024, 5, 31)
D_MINUS_31 = dt.date(2024, 5, 30)
AFTER_D = dt.date(2024, 7, 1)

SEGMENT = {"a": "mid_market", "n": "smb", "x": "smb", "b": "smb"}


# --- tiny row builders (only the columns the mart reads matter; the rest are plausible) ----------


def account(account_id: str, status: str = "active", signup: dt.date = dt.date(2023, 1, 15)) -> tuple:
    mrr = Decimal(f"{100 + int(account_id[1:])}.50")  # distinct per account, to see the pass-through
    return (
        account_id, f"Co {account_id}", "software", 20, "growth", f"owner_{account_id}", "europe", signup, status,
        500, 17, SEGMENT[account_id[0]], mrr, mrr * 12, 1, 1, 0, signup, signup, 0, 0, 0.0, 0.0, 0, "mature",
    )


def usage(account_id: str, day: dt.date, total: int) -> tuple:
    at = dt.datetime.combine(day, dt.time(9))
    return (account_id, day, total, 1, 1, 1, total, 0, 0, 0, 0, 0, 0, 0, at, at, 0.0, 20.0, False)


def ticket(ticket_id: str, account_id: str, day: dt.date, status: str, csat: float | None = None) -> tuple:
    created = dt.datetime.combine(day, dt.time(9))
    resolved = created + dt.timedelta(hours=2) if status == "resolved" else None
    hours = 2.0 if resolved else None
    return (
        ticket_id, account_id, created, resolved, "p3", "bug", status, csat, hours, 48,
        False if resolved else None, day, day.month, day.strftime("%Y-%m"),
        0.04 if resolved else None, "fast" if resolved else "unresolved",
        "no_rating" if csat is None else "satisfied", "growth", "owner", "europe",
    )


def revenue(account_id: str, month: dt.date, mrr: str, previous: str, movement: str) -> tuple:
    m, p = Decimal(mrr), Decimal(previous)
    amounts = {k: Decimal("0.00") for k in ("new", "reactivation", "expansion", "contraction", "churn")}
    movement_amount = {"new": m, "reactivation": m, "expansion": m - p, "contraction": p - m, "churn": p}
    if movement in movement_amount:  # "flat" moves nothing
        amounts[movement] = movement_amount[movement]
    return (
        account_id, month, m, m, m * 12, p, movement, amounts["new"], amounts["reactivation"],
        amounts["expansion"], amounts["contraction"], amounts["churn"], m - p, 1, month,
    )


def event(event_id: str, account_id: str, name: str, day: dt.date) -> tuple:
    at = dt.datetime.combine(day, dt.time(10))
    return (event_id, account_id, "u1", name, at, day, 10, "other", at)


def expected_row(account_id: str, scores: tuple, facts: tuple, health: float, tier: str, priority: int,
                 loaded_at: dt.datetime) -> tuple:
    acc = account(account_id)
    usage_s, support_s, revenue_s, engagement_s = scores
    avg_events, open_30, csat_30, latest_mrr, latest_change, features = facts
    return (
        account_id, acc[1], acc[11], acc[4], 17, acc[12], acc[13], acc[5], "mature", acc[6],
        usage_s, support_s, revenue_s, engagement_s, avg_events, open_30, csat_30, Decimal(latest_mrr),
        Decimal(latest_change), features, health, tier, priority, loaded_at,
    )


def build(spark, accounts, usage_rows, tickets, revenue_rows, events, loaded_at):
    return customer_health_scores(
        spark.createDataFrame(accounts, DIM_ACCOUNT),
        spark.createDataFrame(usage_rows, FCT_USAGE),
        spark.createDataFrame(tickets, FCT_TICKETS),
        spark.createDataFrame(revenue_rows, FCT_REVENUE),
        spark.createDataFrame(events, STG_USAGE_EVENTS),
        as_of_date=D,
        loaded_at=loaded_at,
    )


# --- the main scenario ------------------------------------------------------------------------------


def _scenario(spark, loaded_at):
    apr, may, jun, jul = (dt.date(2024, m, 1) for m in (4, 5, 6, 7))
    accounts = [account(a) for a in ("a01", "a02", "a03", "a04", "n05", "n06", "n07", "n08", "n09", "n10", "n11")]
    accounts += [
        account("x12", status="churned"),  # not scored, and must not shift anyone's quartile
        account("x13", status="trial"),
        account("x14", signup=AFTER_D),  # signed up after D (dim_account is point in time anyway)
    ]
    usage_rows = [
        # a01: only D-30 counts (inclusive); D-31 and after D would swamp the mean -> 5.0
        usage("a01", D_MINUS_30, 5), usage("a01", D_MINUS_31, 1000), usage("a01", AFTER_D, 1000),
        # a02: 5.0, ties a01 -> account_id decides: a01 ranks below a02
        usage("a02", D, 5),
        # a03: 17 events over 8 days = 2.125 -> 2.13 (half away, not banker's 2.12)
        *[usage("a03", dt.date(2024, 6, d), 3 if d == 8 else 2) for d in range(1, 9)],
        # a04: (30 + 10) / 2 = 20.0, the most active
        usage("a04", dt.date(2024, 6, 15), 30), usage("a04", dt.date(2024, 6, 16), 10),
        # n05: usage only on D-31 -> not in the window, not in the quartiles
        usage("n05", D_MINUS_31, 7),
        # non-active accounts with busy usage: excluded from the population and the quartiles
        usage("x12", dt.date(2024, 6, 10), 3), usage("x13", dt.date(2024, 6, 10), 50),
        usage("x14", dt.date(2024, 6, 10), 4),
    ]
    events = [
        # a01: 3 features in the window; api_call (D-31) and workflow_created (after D) do not count
        event("e01", "a01", "contact_added", D_MINUS_30), event("e02", "a01", "deal_updated", D_MINUS_30),
        event("e03", "a01", "note_added", D_MINUS_30), event("e04", "a01", "api_call", D_MINUS_31),
        event("e05", "a01", "workflow_created", AFTER_D),
        # a02: 3 features (email_sent twice) -> ties a01, a01 ranks below
        event("e06", "a02", "email_sent", D), event("e07", "a02", "email_sent", D),
        event("e08", "a02", "meeting_logged", D), event("e09", "a02", "task_completed", D),
        # a03: 1 feature
        event("e10", "a03", "dashboard_viewed", dt.date(2024, 6, 1)),
        event("e11", "a03", "dashboard_viewed", dt.date(2024, 6, 2)),
        # a04: 2 features over two days
        event("e12", "a04", "api_call", dt.date(2024, 6, 15)),
        event("e13", "a04", "workflow_created", dt.date(2024, 6, 15)),
        event("e14", "a04", "api_call", dt.date(2024, 6, 16)),
        # n05: only D-31 -> 0 features
        event("e15", "n05", "report_created", D_MINUS_31),
        # non-active accounts: ignored
        event("e16", "x12", "report_created", dt.date(2024, 6, 10)),
        event("e17", "x12", "api_call", dt.date(2024, 6, 10)),
        event("e18", "x13", "user_invited", dt.date(2024, 6, 10)),
    ]
    tickets = [
        # a01: resolved, csat 3.0 -> open 0, csat < 4 -> 75. The open D-31 ticket is outside the window.
        ticket("t01", "a01", D, "resolved", 3.0), ticket("t02", "a01", D_MINUS_31, "open"),
        # a02: resolved, unrated -> open 0, coalesce(csat, 5) = 5 -> 100; avg_csat_30d 0
        ticket("t03", "a02", dt.date(2024, 6, 10), "resolved"),
        # a03: csat 4.1 and 4.8: mean 4.45 exactly -> 4.5 (a double mean gives 4.4499.. -> 4.4); -> 100
        ticket("t04", "a03", dt.date(2024, 6, 3), "resolved", 4.1),
        ticket("t05", "a03", dt.date(2024, 6, 4), "resolved", 4.8),
        # a04: one escalated (open) + csat 3.0 -> open 1 <= 2, csat >= 3 -> 50
        ticket("t06", "a04", dt.date(2024, 6, 20), "escalated"),
        ticket("t07", "a04", dt.date(2024, 6, 1), "resolved", 3.0),
        # n05: open 1, csat 2.0 < 3 -> falls to "open <= 5" -> 25; ticket after D ignored
        ticket("t08", "n05", dt.date(2024, 6, 5), "open", 2.0),
        ticket("t09", "n05", AFTER_D, "resolved", 5.0),
        # n06: open 0, csat mean 3.95 < 4 (rounded 4.0 is only the display value) -> 75
        ticket("t10", "n06", dt.date(2024, 6, 5), "resolved", 3.9),
        ticket("t11", "n06", dt.date(2024, 6, 6), "resolved", 4.0),
        # n07: no tickets -> 50
        # n08: 5 open (3 open + 2 escalated), rated 5.0 -> open <= 5 -> 25
        *[ticket(f"t1{i}", "n08", dt.date(2024, 6, 10), "open") for i in range(2, 5)],
        ticket("t15", "n08", dt.date(2024, 6, 11), "escalated", 5.0),
        ticket("t16", "n08", dt.date(2024, 6, 11), "escalated"),
        # n09: 2 open, unrated -> coalesce(csat, 3) = 3 -> 50
        ticket("t17", "n09", dt.date(2024, 6, 12), "open"), ticket("t18", "n09", dt.date(2024, 6, 13), "open"),
        # n10: 6 open, one of them on D-30 (inclusive) -> 10 (without it 5 -> 25)
        *[ticket(f"t2{i}", "n10", dt.date(2024, 6, 20 + i), "open") for i in range(5)],
        ticket("t25", "n10", D_MINUS_30, "open"),
        # non-active account: ignored
        ticket("t26", "x12", dt.date(2024, 6, 10), "open"),
    ]
    revenue_rows = [
        # a01: latest row flat -> 60
        revenue("a01", may, "100.00", "0.00", "new"), revenue("a01", jun, "100.00", "100.00", "flat"),
        # a02: its only row is after M -> no row -> 50, latest 0
        revenue("a02", jul, "75.00", "0.00", "new"),
        # a03: latest row at or before M is June (+10) -> 100; July (after M) ignored
        revenue("a03", apr, "200.00", "0.00", "new"), revenue("a03", may, "100.00", "200.00", "contraction"),
        revenue("a03", jun, "110.00", "100.00", "expansion"), revenue("a03", jul, "0.00", "110.00", "churn"),
        # a04: -49.99 > -50 -> 30
        revenue("a04", may, "100.00", "0.00", "new"), revenue("a04", jun, "50.01", "100.00", "contraction"),
        # n05: flat -> 60
        revenue("n05", may, "80.00", "0.00", "new"), revenue("n05", jun, "80.00", "80.00", "flat"),
        # n06: +50 -> 100
        revenue("n06", may, "300.00", "0.00", "new"), revenue("n06", jun, "350.00", "300.00", "expansion"),
        # n07: churn row, -50.00 is not > -50 -> 10
        revenue("n07", may, "50.00", "0.00", "new"), revenue("n07", jun, "0.00", "50.00", "churn"),
        # n08: new this month -> +20 -> 100
        revenue("n08", jun, "20.00", "0.00", "new"),
        # n09, n11: no rows -> 50
        # n10: -10 -> 30
        revenue("n10", may, "100.00", "0.00", "new"), revenue("n10", jun, "90.00", "100.00", "contraction"),
        revenue("x12", jun, "10.00", "0.00", "new"),
    ]
    return build(spark, accounts, usage_rows, tickets, revenue_rows, events, loaded_at)


def test_scores_tiers_and_priorities(spark, loaded_at):
    actual = _scenario(spark, loaded_at)
    # Quartiles among the 4 participants a01..a04:
    #   usage by (avg, id): a03 2.13 -> 25, a01 5.0 -> 50, a02 5.0 -> 75, a04 20.0 -> 100
    #   engagement by (features, id): a03 1 -> 25, a04 2 -> 50, a01 3 -> 75, a02 3 -> 100
    # health = 0.30 u + 0.20 s + 0.25 r + 0.25 e
    rows = [
        # a01: 15 + 15 + 15 + 18.75 = 63.75 -> 63.8
        ("a01", (50, 75, 60, 75), (5.0, 0, 3.0, "100.00", "0.00", 3), 63.8, "healthy", 10),
        # a02: 22.5 + 20 + 12.5 + 25 = 80.0 (threshold)
        ("a02", (75, 100, 50, 100), (5.0, 0, 0.0, "0.00", "0.00", 3), 80.0, "champion", 11),
        # a03: 7.5 + 20 + 25 + 6.25 = 58.75 -> 58.8
        ("a03", (25, 100, 100, 25), (2.13, 0, 4.5, "110.00", "10.00", 1), 58.8, "neutral", 8),
        # a04: 30 + 10 + 7.5 + 12.5 = 60.0 (threshold)
        ("a04", (100, 50, 30, 50), (20.0, 1, 3.0, "50.01", "-49.99", 2), 60.0, "healthy", 9),
        # n05: 5 + 15 = 20.0 (threshold)
        ("n05", (0, 25, 60, 0), (0.0, 1, 2.0, "80.00", "0.00", 0), 20.0, "at_risk", 3),
        # n06: 15 + 25 = 40.0 (threshold)
        ("n06", (0, 75, 100, 0), (0.0, 0, 4.0, "350.00", "50.00", 0), 40.0, "neutral", 7),
        # n07: 10 + 2.5 = 12.5
        ("n07", (0, 50, 10, 0), (0.0, 0, 0.0, "0.00", "-50.00", 0), 12.5, "critical", 2),
        # n08: 5 + 25 = 30.0
        ("n08", (0, 25, 100, 0), (0.0, 5, 5.0, "20.00", "20.00", 0), 30.0, "at_risk", 6),
        # n09: 10 + 12.5 = 22.5; ties n11, n09 first
        ("n09", (0, 50, 50, 0), (0.0, 2, 0.0, "0.00", "0.00", 0), 22.5, "at_risk", 4),
        # n10: 2 + 7.5 = 9.5, most urgent
        ("n10", (0, 10, 30, 0), (0.0, 6, 0.0, "90.00", "-10.00", 0), 9.5, "critical", 1),
        # n11: nothing at all: usage 0, support 50, revenue 50, engagement 0
        ("n11", (0, 50, 50, 0), (0.0, 0, 0.0, "0.00", "0.00", 0), 22.5, "at_risk", 5),
    ]
    expected = spark.createDataFrame([expected_row(*r, loaded_at) for r in rows], OUTPUT)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_output_schema(spark, loaded_at):
    actual = _scenario(spark, loaded_at)
    expected = [(f.name, f.dataType.simpleString()) for f in spark.createDataFrame([], OUTPUT).schema.fields]
    assert [(f.name, f.dataType.simpleString()) for f in actual.schema.fields] == expected


def test_usage_quartile_uses_the_rounded_average_then_account_id(spark, loaded_at):
    # b01: 32 events / 15 days = 2.1333 -> 2.13; b02: 17 / 8 = 2.125 -> 2.13.
    # Equal as rounded, so account_id decides: b01 -> 25, b02 -> 50 (on the exact means it would be reversed).
    accounts = [account("b01"), account("b02")]
    usage_rows = [usage("b01", dt.date(2024, 6, d), 3 if d <= 2 else 2) for d in range(1, 16)]
    usage_rows += [usage("b02", dt.date(2024, 6, d), 3 if d == 1 else 2) for d in range(1, 9)]
    events = [event("e1", "b01", "api_call", D), event("e2", "b02", "api_call", D)]
    actual = build(spark, accounts, usage_rows, [], [], events, loaded_at).select(
        "account_id", "avg_daily_events_30d", "usage_score", "features_used_30d", "engagement_score"
    )
    expected = spark.createDataFrame(
        [("b01", 2.13, 25, 1, 25), ("b02", 2.13, 50, 1, 50)],
        "account_id string, avg_daily_events_30d double, usage_score int, features_used_30d bigint, "
        "engagement_score int",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_health_tier_boundaries(spark):
    scores = [100.0, 80.0, 79.9, 60.0, 59.9, 40.0, 39.9, 20.0, 19.9, 0.0]
    tiers = ["champion", "champion", "healthy", "healthy", "neutral", "neutral", "at_risk", "at_risk",
             "critical", "critical"]
    df = spark.createDataFrame([(s,) for s in scores], "health_score double")
    actual = df.select("health_score", _health_tier(F.col("health_score")).alias("health_tier"))
    expected = spark.createDataFrame(list(zip(scores, tiers)), "health_score double, health_tier string")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
