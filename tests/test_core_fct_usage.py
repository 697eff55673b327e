"""fct_usage: daily usage per account on hand-built events; expected rows derived by hand."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality

from novacrm_spark.models.core.fct_usage import fct_usage

from table_schemas import FCT_USAGE as OUT_DDL, STG_ACCOUNTS as ACCOUNTS_DDL, STG_USAGE_EVENTS as EVENTS_DDL

LOADED = dt.datetime(2025, 2, 1, 6, 0, 0)
AS_OF = dt.date(2024, 6, 30)

EXPECTED_SCHEMA = [
    ("account_id", "string"), ("event_date", "date"), ("total_events", "bigint"), ("active_users", "bigint"),
    ("distinct_features_used", "bigint"), ("distinct_categories_used", "bigint"), ("reporting_events", "bigint"),
    ("crm_core_events", "bigint"), ("communication_events", "bigint"), ("advanced_events", "bigint"),
    ("platform_events", "bigint"), ("api_calls", "bigint"), ("reports_created", "bigint"),
    ("workflows_created", "bigint"), ("first_event_at", "timestamp"), ("last_event_at", "timestamp"),
    ("active_hours", "double"), ("feature_breadth_pct", "double"), ("is_power_usage_day", "boolean"),
]

# The staging category of each event name used below (unknown names are 'other').
CATEGORY = {
    "dashboard_viewed": "reporting", "report_created": "reporting", "export_generated": "reporting",
    "contact_added": "crm_core", "deal_updated": "crm_core", "note_added": "crm_core",
    "email_sent": "communication", "meeting_logged": "communication", "task_completed": "communication",
    "api_call": "advanced", "integration_configured": "advanced", "workflow_created": "advanced",
    "search_performed": "platform", "filter_applied": "platform", "user_invited": "platform",
}


def account(account_id, signup):
    return (account_id, account_id, "saas", 10, "growth", "Ann", "europe", signup, "active", LOADED)


def events(account_id, day, spec):
    """``spec``: list of (user_id, event_name, "HH:MM:SS", repeat)."""
    rows = []
    for user, name, clock, repeat in spec:
        ts = dt.datetime.combine(day, dt.time.fromisoformat(clock))
        for _ in range(repeat):
            rows.append((f"{account_id}-{day}-{len(rows)}", account_id, user, name, ts, day, ts.hour,
                         CATEGORY.get(name, "other"), LOADED))
    return rows


def ts(day, clock):
    return dt.datetime.combine(day, dt.time.fromisoformat(clock))


def run(spark, accounts, event_rows):
    return fct_usage(
        spark.createDataFrame(accounts, ACCOUNTS_DDL),
        spark.createDataFrame(event_rows, EVENTS_DDL),
        as_of_date=AS_OF,
    )


def test_output_schema(spark):
    out = run(spark, [account("u", dt.date(2024, 1, 1))], events("u", AS_OF, [("u1", "api_call", "09:00:00", 1)]))
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == EXPECTED_SCHEMA


def test_daily_usage_facts(spark):
    day_a, day_b, day_c, day_d = AS_OF, dt.date(2024, 6, 1), dt.date(2024, 5, 1), dt.date(2024, 5, 2)
    rows = (
        # Day A = D (included): 6 events, 3 users, 5 features (one unknown), 3 named categories,
        # 09:00:00 -> 09:56:59 is 56 whole minutes -> 0.9333 -> 0.9 h.
        events("u", day_a, [("u1", "api_call", "09:00:00", 1), ("u1", "api_call", "09:05:00", 1),
                            ("u2", "report_created", "09:20:00", 1), ("u2", "workflow_created", "09:30:00", 1),
                            ("u3", "mystery_event", "09:40:00", 1), ("u1", "contact_added", "09:56:59", 1)])
        # Day B: 10 events, exactly 5 features -> power day; 08:00:00 -> 08:03:30 = 3 minutes -> 0.05 -> 0.1.
        + events("u", day_b, [("u1", "email_sent", "08:00:00", 4), ("u1", "meeting_logged", "08:01:00", 2),
                              ("u1", "task_completed", "08:02:00", 1), ("u1", "search_performed", "08:03:00", 2),
                              ("u1", "filter_applied", "08:03:30", 1)])
        # Day C: 5 features but only 9 events -> not a power day; one instant -> 0.0 h.
        + events("u", day_c, [("u1", "dashboard_viewed", "12:00:00", 5), ("u1", "export_generated", "12:00:00", 1),
                              ("u1", "note_added", "12:00:00", 1), ("u1", "deal_updated", "12:00:00", 1),
                              ("u1", "integration_configured", "12:00:00", 1)])
        # Day D: 10 events but 4 features -> not a power day; 'other' events count in totals only;
        # 07:00:00 -> 23:59:59 = 1019 whole minutes -> 16.983 -> 17.0 h.
        + events("u", day_d, [("u1", "unknown_a", "07:00:00", 7), ("u2", "unknown_b", "08:00:00", 1),
                              ("u2", "unknown_c", "09:00:00", 1), ("u2", "api_call", "23:59:59", 1)])
        # After D, and an account that signed up after D: excluded.
        + events("u", dt.date(2024, 7, 1), [("u1", "api_call", "00:00:00", 1)])
        + events("late", dt.date(2024, 6, 15), [("u9", "api_call", "10:00:00", 1)])
    )
    accounts = [account("u", dt.date(2024, 1, 1)), account("late", dt.date(2024, 7, 1))]
    expected = spark.createDataFrame(
        [
            ("u", day_a, 6, 3, 5, 3, 1, 1, 0, 3, 0, 2, 1, 1, ts(day_a, "09:00:00"), ts(day_a, "09:56:59"),
             0.9, 60.0, False),
            ("u", day_b, 10, 1, 5, 2, 0, 0, 7, 0, 3, 0, 0, 0, ts(day_b, "08:00:00"), ts(day_b, "08:03:30"),
             0.1, 40.0, True),
            ("u", day_c, 9, 1, 5, 3, 6, 2, 0, 1, 0, 0, 0, 0, ts(day_c, "12:00:00"), ts(day_c, "12:00:00"),
             0.0, 60.0, False),
            ("u", day_d, 10, 2, 4, 1, 0, 0, 0, 1, 0, 1, 0, 0, ts(day_d, "07:00:00"), ts(day_d, "23:59:59"),
             17.0, 20.0, False),
        ],
        OUT_DDL,
    )
    assert_df_equality(run(spark, accounts, rows), expected, ignore_row_order=True, ignore_nullable=True)


def test_breadth_all_five_categories_and_only_other(spark):
    day = dt.date(2024, 6, 10)
    rows = events("u", day, [("u1", n, "10:00:00", 1) for n in
                             ("dashboard_viewed", "note_added", "email_sent", "api_call", "user_invited")])
    rows += events("v", day, [("u1", "brand_new_event", "10:00:00", 1)])
    out = run(spark, [account("u", dt.date(2024, 1, 1)), account("v", dt.date(2024, 1, 1))], rows)
    expected = spark.createDataFrame(
        [("u", 5, 5, 100.0), ("v", 1, 0, 0.0)],
        "account_id string, distinct_features_used bigint, distinct_categories_used bigint, feature_breadth_pct double",
    )
    actual = out.select("account_id", "distinct_features_used", "distinct_categories_used", "feature_breadth_pct")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
