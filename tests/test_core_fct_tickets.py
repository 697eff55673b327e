"""fct_tickets on hand-built tickets; SLA boundaries and tiers worked out by hand."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality

from novacrm_spark.models.core.fct_tickets import fct_tickets

from table_schemas import (
    FCT_TICKETS as OUT_DDL,
    STG_ACCOUNTS as ACCOUNTS_DDL,
    STG_SUPPORT_TICKETS as TICKETS_DDL,
)

LOADED = dt.datetime(2025, 2, 1, 6, 0, 0)
AS_OF = dt.date(2024, 6, 30)

EXPECTED_SCHEMA = [
    ("ticket_id", "string"), ("account_id", "string"), ("created_at", "timestamp"), ("resolved_at", "timestamp"),
    ("priority", "string"), ("category", "string"), ("status", "string"), ("satisfaction_score", "double"),
    ("resolution_hours", "double"), ("sla_target_hours", "int"), ("is_sla_breach", "boolean"),
    ("created_date", "date"), ("created_month", "int"), ("created_year_month", "string"), ("sla_ratio", "double"),
    ("resolution_speed", "string"), ("csat_tier", "string"), ("account_plan_tier", "string"),
    ("account_owner", "string"), ("account_region", "string"),
]
TARGET = {"p1": 4, "p2": 12, "p3": 48, "p4": 120}


def account(account_id, signup, tier="growth", owner="Bob", region="apac"):
    return (account_id, account_id, "saas", 10, tier, owner, region, signup, "active", LOADED)


def ticket(ticket_id, created_at, elapsed, priority, status, csat, hours, breach, account_id="k"):
    """``elapsed`` = (h, m, s) to resolution or None; ``hours``/``breach`` as staging stores them (by hand)."""
    resolved_at = None
    if elapsed:
        resolved_at = created_at + dt.timedelta(hours=elapsed[0], minutes=elapsed[1], seconds=elapsed[2])
    return (ticket_id, account_id, created_at, resolved_at, priority, "bug", status, csat, hours, TARGET[priority],
            breach, created_at.date(), LOADED)


def expected_row(ticket_row, sla_ratio, speed, tier, account_cols=("growth", "Bob", "apac")):
    base = ticket_row[:-1]  # without _loaded_at
    created_date = base[-1]
    return (*base, created_date.month, f"{created_date:%Y-%m}", sla_ratio, speed, tier, *account_cols)


def run(spark, accounts, tickets):
    return fct_tickets(
        spark.createDataFrame(accounts, ACCOUNTS_DDL),
        spark.createDataFrame(tickets, TICKETS_DDL),
        as_of_date=AS_OF,
    )


T0 = dt.datetime(2024, 3, 15, 9, 0, 0)


def test_output_schema(spark):
    out = run(spark, [account("k", dt.date(2024, 1, 1))], [ticket("t", T0, None, "p1", "open", None, None, None)])
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == EXPECTED_SCHEMA


def test_resolution_speed_boundaries_sla_ratio_and_csat_tiers(spark):
    # p1 target 4 h: fast <= 2 h (120 min), on_time <= 4 h (240), slow <= 6 h (360), else critical_breach;
    # W = whole minutes (seconds truncated).
    cases = [
        # ticket, sla_ratio, resolution_speed, csat_tier
        (ticket("fast_edge", T0, (2, 0, 59), "p1", "resolved", 5.0, 2.0, False), 0.5, "fast", "satisfied"),
        # W = 121: rounded hours 2.0 would say fast, the exact 2.0167 h says on_time.
        (ticket("on_time_low", T0, (2, 1, 0), "p1", "resolved", 4.0, 2.0, False), 0.5, "on_time", "satisfied"),
        (ticket("on_time_edge", T0, (4, 0, 59), "p1", "resolved", 3.99, 4.0, False), 1.0, "on_time", "neutral"),
        (ticket("slow_low", T0, (4, 1, 0), "p1", "resolved", 3.0, 4.0, True), 1.0, "slow", "neutral"),
        (ticket("slow_edge", T0, (6, 0, 0), "p1", "resolved", 2.99, 6.0, True), 1.5, "slow", "dissatisfied"),
        (ticket("critical", T0, (6, 1, 0), "p1", "resolved", 1.0, 6.0, True), 1.5, "critical_breach",
         "dissatisfied"),
        # p3 (48 h): 72 min -> 1.2 h; 1.2 / 48 = 0.025 -> 0.03 half away from zero.
        (ticket("p3_ratio", T0, (1, 12, 0), "p3", "resolved", None, 1.2, False), 0.03, "fast", "no_rating"),
        # p4 (120 h): 200 h > 180 h -> critical_breach; 200 / 120 = 1.6667 -> 1.67.
        (ticket("p4_crit", T0, (200, 0, 0), "p4", "resolved", None, 200.0, True), 1.67, "critical_breach",
         "no_rating"),
        # p2 (12 h): 9 h -> on_time (6 < 9 <= 12); 9 / 12 = 0.75.
        (ticket("p2_on_time", T0, (9, 0, 0), "p2", "resolved", 4.5, 9.0, False), 0.75, "on_time", "satisfied"),
        # open / escalated: unresolved, no ratio; created on D late in the day: included.
        (ticket("open", dt.datetime(2024, 6, 30, 23, 30), None, "p2", "open", None, None, None), None,
         "unresolved", "no_rating"),
        (ticket("escalated", dt.datetime(2024, 4, 1, 8, 0), None, "p1", "escalated", 2.0, None, None), None,
         "unresolved", "dissatisfied"),
    ]
    excluded = [
        ticket("after_d", dt.datetime(2024, 7, 1, 0, 0), None, "p2", "open", None, None, None),
        ticket("late_account", T0, None, "p2", "open", None, None, None, account_id="late"),
    ]
    accounts = [account("k", dt.date(2024, 1, 1)), account("late", dt.date(2024, 7, 1), "starter", "Zed", "latam")]
    expected = spark.createDataFrame([expected_row(t, r, s, c) for t, r, s, c in cases], OUT_DDL)
    actual = run(spark, accounts, [c[0] for c in cases] + excluded)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_created_month_and_account_attributes(spark):
    accounts = [account("k", dt.date(2024, 1, 1)), account("m", dt.date(2023, 5, 1), "enterprise", "Eve", "europe")]
    tickets = [
        ticket("jan", dt.datetime(2024, 1, 31, 23, 59, 59), None, "p4", "open", None, None, None),
        ticket("dec", dt.datetime(2023, 12, 1, 0, 0), None, "p3", "open", None, None, None, account_id="m"),
    ]
    expected = spark.createDataFrame(
        [("jan", 1, "2024-01", "growth", "Bob", "apac"), ("dec", 12, "2023-12", "enterprise", "Eve", "europe")],
        "ticket_id string, created_month int, created_year_month string, account_plan_tier string, "
        "account_owner string, account_region string",
    )
    actual = run(spark, accounts, tickets).select(
        "ticket_id", "created_month", "created_year_month", "account_plan_tier", "account_owner", "account_region"
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
