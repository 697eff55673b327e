"""dim_account on hand-built staging rows; expected values derived by hand from the spec."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality

from novacrm_spark.models.core.dim_account import dim_account

from table_schemas import (
    DIM_ACCOUNT as OUT_DDL,
    STG_ACCOUNTS as ACCOUNTS_DDL,
    STG_SUBSCRIPTIONS as SUBSCRIPTIONS_DDL,
    STG_SUPPORT_TICKETS as TICKETS_DDL,
)

LOADED = dt.datetime(2025, 2, 1, 6, 0, 0)
AS_OF = dt.date(2024, 6, 30)

EXPECTED_SCHEMA = [
    ("account_id", "string"), ("company_name", "string"), ("industry", "string"), ("employee_count", "int"),
    ("plan_tier", "string"), ("account_owner", "string"), ("region", "string"), ("signup_date", "date"),
    ("status", "string"), ("tenure_days", "int"), ("tenure_months", "int"), ("account_segment", "string"),
    ("current_mrr", "decimal(18,2)"), ("current_arr", "decimal(18,2)"), ("active_subscription_count", "bigint"),
    ("total_subscription_count", "bigint"), ("active_addon_count", "bigint"), ("first_subscription_date", "date"),
    ("latest_subscription_date", "date"), ("lifetime_tickets", "bigint"), ("open_tickets", "bigint"),
    ("avg_csat", "double"), ("avg_resolution_hours", "double"), ("sla_breaches", "bigint"),
    ("lifecycle_stage", "string"),
]


def account(account_id, signup, status="active", tier="growth", employees=100):
    return (account_id, f"{account_id} Corp", "saas", employees, tier, "Ann", "europe", signup, status, LOADED)


def subscription(sub_id, account_id, product, mrr, start, status):
    return (sub_id, account_id, product, "growth", Decimal(mrr), start, None, status, status == "active", None, LOADED)


def ticket(ticket_id, account_id, created, status, csat=None, hours=None, breach=None):
    created_at = dt.datetime.combine(created, dt.time(9, 0))
    resolved_at = created_at + dt.timedelta(hours=hours) if hours is not None else None
    return (ticket_id, account_id, created_at, resolved_at, "p2", "bug", status, csat, hours, 12, breach, created,
            LOADED)


def run(spark, accounts, subscriptions=(), tickets=()):
    return dim_account(
        spark.createDataFrame(list(accounts), ACCOUNTS_DDL),
        spark.createDataFrame(list(subscriptions), SUBSCRIPTIONS_DDL),
        spark.createDataFrame(list(tickets), TICKETS_DDL),
        as_of_date=AS_OF,
    )


def test_output_schema(spark):
    out = run(spark, [account("a", dt.date(2024, 1, 1))])
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == EXPECTED_SCHEMA


def test_subscription_and_ticket_facts_point_in_time_and_defaults(spark):
    accounts = [
        account("x", dt.date(2023, 11, 1)),
        account("y", AS_OF, tier="starter", employees=None),  # signed up on D: kept, no subs/tickets
        account("late", dt.date(2024, 7, 1)),  # signed up after D: excluded
    ]
    subscriptions = [
        subscription("s1", "x", "novacrm_platform", "149.00", dt.date(2024, 1, 15), "active"),
        subscription("s2", "x", "api_access", "29.00", dt.date(2024, 2, 1), "active"),
        subscription("s3", "x", "advanced_analytics", "79.00", dt.date(2024, 3, 1), "cancelled"),
        subscription("s5", "x", "novacrm_platform", "49.00", dt.date(2023, 12, 1), "upgraded"),
        subscription("s4", "x", "priority_support", "59.00", dt.date(2024, 7, 1), "active"),  # after D
        subscription("s6", "late", "novacrm_platform", "499.00", dt.date(2024, 6, 1), "active"),
    ]
    tickets = [
        ticket("t1", "x", dt.date(2024, 5, 1), "resolved", csat=4.5, hours=2.3, breach=False),
        ticket("t2", "x", dt.date(2024, 5, 2), "resolved", csat=4.4, hours=5.2, breach=True),
        ticket("t3", "x", dt.date(2024, 6, 1), "open"),
        ticket("t4", "x", dt.date(2024, 6, 2), "escalated"),
        ticket("t6", "x", AS_OF, "resolved", csat=4.45, hours=0.5, breach=False),  # created on D: counted
        ticket("t5", "x", dt.date(2024, 7, 1), "resolved", csat=1.0, hours=30.0, breach=True),  # after D
        ticket("t7", "late", dt.date(2024, 6, 1), "open"),
    ]
    expected = spark.createDataFrame(
        [
            # x: 2023-11-01 -> 2024-06-30 is 242 days, 7 calendar months; growth -> mid_market.
            # mrr 149 + 29 (active only, s4 starts after D); total subs s1,s2,s3,s5; one active add-on;
            # latest *active* start 2024-02-01 (s3 is cancelled). Tickets t1,t2,t3,t4,t6: open 2,
            # csat mean (4.5+4.4+4.45)/3 = 4.45 -> 4.5, hours (2.3+5.2+0.5)/3 = 2.666 -> 2.7, 1 breach.
            ("x", "x Corp", "saas", 100, "growth", "Ann", "europe", dt.date(2023, 11, 1), "active", 242, 7,
             "mid_market", Decimal("178.00"), Decimal("2136.00"), 2, 4, 1, dt.date(2023, 12, 1),
             dt.date(2024, 2, 1), 5, 2, 4.5, 2.7, 1, "growing"),
            # y: no subscriptions, no tickets: counts 0, means 0, dates null; starter + null employees -> smb.
            ("y", "y Corp", "saas", None, "starter", "Ann", "europe", AS_OF, "active", 0, 0, "smb",
             Decimal("0.00"), Decimal("0.00"), 0, 0, 0, None, None, 0, 0, 0.0, 0.0, 0, "onboarding"),
        ],
        OUT_DDL,
    )
    assert_df_equality(run(spark, accounts, subscriptions, tickets), expected, ignore_row_order=True,
                       ignore_nullable=True)


def test_means_round_half_away_in_decimal_and_ignore_nulls(spark):
    tickets = [
        # csat mean (1.2 + 1.9) / 2 = 1.55 exactly (1.5499999999999998 as a double) -> 1.6.
        ticket("t1", "m", dt.date(2024, 6, 1), "resolved", csat=1.2, hours=1.4, breach=False),
        ticket("t2", "m", dt.date(2024, 6, 2), "resolved", csat=1.9, hours=2.3, breach=False),
        # unrated and unresolved: ignored by both means, still a lifetime/open ticket.
        ticket("t3", "m", dt.date(2024, 6, 3), "open"),
    ]
    out = run(spark, [account("m", dt.date(2024, 1, 1))], tickets=tickets)
    # hours mean (1.4 + 2.3) / 2 = 1.85 exactly -> 1.9 half away from zero (half-even or truncation give 1.8).
    expected = spark.createDataFrame(
        [("m", 3, 1, 1.6, 1.9)],
        "account_id string, lifetime_tickets bigint, open_tickets bigint, avg_csat double, avg_resolution_hours double",
    )
    actual = out.select("account_id", "lifetime_tickets", "open_tickets", "avg_csat", "avg_resolution_hours")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_segment_and_lifecycle_branches(spark):
    accounts = [
        # segment branches (all tenure 91..365 -> growing unless noted)
        account("seg_ent_tier", dt.date(2024, 1, 1), tier="enterprise", employees=10),
        account("seg_ent_emp", dt.date(2024, 1, 1), tier="starter", employees=501),
        account("seg_500", dt.date(2024, 1, 1), tier="starter", employees=500),
        account("seg_mid_tier", dt.date(2024, 1, 1), tier="growth", employees=10),
        account("seg_mid_emp", dt.date(2024, 1, 1), tier="starter", employees=51),
        account("seg_smb_50", dt.date(2024, 1, 1), tier="starter", employees=50),
        account("seg_null_starter", dt.date(2024, 1, 1), tier="starter", employees=None),
        account("seg_null_growth", dt.date(2024, 1, 1), tier="growth", employees=None),
        account("seg_null_ent", dt.date(2024, 1, 1), tier="enterprise", employees=None),
        # lifecycle branches: status first, then tenure boundaries 90 / 365
        account("life_trial", dt.date(2020, 1, 1), status="trial"),
        account("life_churned", dt.date(2024, 6, 1), status="churned"),
        account("life_90", dt.date(2024, 4, 1)),  # 90 days -> onboarding
        account("life_91", dt.date(2024, 3, 31)),  # 91 days -> growing
        account("life_365", dt.date(2023, 7, 1)),  # 365 days (2024 is a leap year) -> growing
        account("life_366", dt.date(2023, 6, 30), status="suspended"),  # 366 days -> mature
    ]
    expected = spark.createDataFrame(
        [
            ("seg_ent_tier", 181, 5, "enterprise", "growing"),
            ("seg_ent_emp", 181, 5, "enterprise", "growing"),
            ("seg_500", 181, 5, "mid_market", "growing"),
            ("seg_mid_tier", 181, 5, "mid_market", "growing"),
            ("seg_mid_emp", 181, 5, "mid_market", "growing"),
            ("seg_smb_50", 181, 5, "smb", "growing"),
            ("seg_null_starter", 181, 5, "smb", "growing"),
            ("seg_null_growth", 181, 5, "mid_market", "growing"),
            ("seg_null_ent", 181, 5, "enterprise", "growing"),
            ("life_trial", 1642, 53, "mid_market", "trial"),
            ("life_churned", 29, 0, "mid_market", "churned"),
            ("life_90", 90, 2, "mid_market", "onboarding"),
            ("life_91", 91, 3, "mid_market", "growing"),
            ("life_365", 365, 11, "mid_market", "growing"),
            ("life_366", 366, 12, "mid_market", "mature"),
        ],
        "account_id string, tenure_days int, tenure_months int, account_segment string, lifecycle_stage string",
    )
    actual = run(spark, accounts).select(
        "account_id", "tenure_days", "tenure_months", "account_segment", "lifecycle_stage"
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
