"""Staging models on small dirty inputs: cleaning, typing, and every quarantine rule."""

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from novacrm_spark.models.staging._validation import field_count
from novacrm_spark.models.staging.stg_accounts import stg_accounts
from novacrm_spark.models.staging.stg_invoices import stg_invoices
from novacrm_spark.models.staging.stg_subscriptions import stg_subscriptions
from novacrm_spark.models.staging.stg_support_tickets import stg_support_tickets
from novacrm_spark.models.staging.stg_usage_events import stg_usage_events
from novacrm_spark.bookkeeping import BOOKKEEPING, COLLAPSED, ROWS_PER_KEY
from novacrm_spark.sources import RAW_RECORD, SOURCES

LOADED = dt.datetime(2025, 2, 1, 6, 0, 0)


def raw(spark, source, rows):
    return spark.createDataFrame(rows, SOURCES[source].schema)


def reasons(result, key):
    return result.quarantined.select(key, "reason")


def accepted(result):
    """The staging table's own columns: the accepted frame less its bookkeeping columns."""
    return result.accepted.drop(*BOOKKEEPING)


def quarantined(result):
    """The quarantine table's own columns."""
    return result.quarantined.drop(*BOOKKEEPING)


def expect(spark, rows, schema):
    return spark.createDataFrame(rows, schema)


@pytest.fixture
def accounts(spark):
    return expect(
        spark,
        [("ACC-1", dt.date(2024, 1, 15)), ("ACC-2", dt.date(2024, 2, 1))],
        "account_id string, signup_date date",
    )


def test_stg_accounts_cleans_types_and_quarantines(spark):
    good = ("ACC-1", " Acme ", " Technology ", "42", " Growth ", " Ann Lee ", "EUROPE ", "2024-01-15", "Active")
    rows = [
        good,
        good,  # an identical copy collapses into the kept row
        ("ACC-7", "Zeta", None, None, "Starter", None, None, "2024-03-01T10:00:00", "trial"),
        ("ACC-2", "Beta", None, "42.0", "starter", None, "apac", "2024-02-01", "active"),
        (None, "Gamma", None, "3", "starter", None, "apac", "2024-02-01", "active"),
        ("  ", "Gamma Two", None, "3", "starter", None, "apac", "2024-02-01", "active"),
        ("ACC-3", "Delta", None, "3", "growth", None, "apac", "2024-13-01", "active"),
        ("ACC-4", "Eps", None, "3", "growth", None, "apac", "2024-02-01", "active"),
        ("ACC-4", "Eps Ltd", None, "3", "growth", None, "apac", "2024-02-01", "active"),
        ("ACC-5", "Phi", None, "3", "platinum", None, "apac", "2024-02-01", "active"),
        ("ACC-6", "Chi", None, "-5", "growth", None, "apac", "2024-02-01", "active"),
        ("ACC-8", "   ", None, "3", "growth", None, "apac", "2024-02-01", "active"),
        ("ACC-9", "Psi", None, "3", "growth", None, "apac", "not a date", None),
        ("ACC-10", "Omega", None, "3", "growth", None, "mars", "2024-02-01", "active"),
    ]
    result = stg_accounts(raw(spark, "accounts", rows), loaded_at=LOADED)

    expected = expect(
        spark,
        [
            ("ACC-1", "Acme", "technology", 42, "growth", "Ann Lee", "europe", dt.date(2024, 1, 15), "active", LOADED),
            ("ACC-7", "Zeta", None, None, "starter", None, None, dt.date(2024, 3, 1), "trial", LOADED),
        ],
        "account_id string, company_name string, industry string, employee_count int, plan_tier string, "
        "account_owner string, region string, signup_date date, status string, _loaded_at timestamp",
    )
    assert_df_equality(accepted(result), expected, ignore_nullable=True, ignore_row_order=True)
    expected_reasons = expect(
        spark,
        [
            ("ACC-2", "unparseable employee_count"),
            (None, "missing account_id"),
            (None, "missing account_id"),
            ("ACC-3", "unparseable signup_date"),
            ("ACC-4", "conflicting duplicate account_id"),
            ("ACC-4", "conflicting duplicate account_id"),
            ("ACC-5", "plan_tier outside its domain"),
            ("ACC-6", "employee_count below 0"),
            ("ACC-8", "missing company_name"),
            ("ACC-9", "missing status"),  # the first reason that applies wins
            ("ACC-10", "region outside its domain"),
        ],
        "account_id string, reason string",
    )
    assert_df_equality(reasons(result, "account_id"), expected_reasons, ignore_nullable=True, ignore_row_order=True)


def test_accepted_rows_per_key_count_the_kept_copy_once(spark):
    kept = ("ACC-1", "Acme", None, "42", "growth", None, "europe", "2024-01-15", "active")
    rows = [
        kept,
        kept,  # an identical copy: collapses, so ACC-1 has one accepted row
        ("ACC-2", "Beta", None, "1", "starter", None, "apac", "2024-02-01", "active"),
        ("ACC-2", "Beta Ltd", None, "1", "starter", None, "apac", "2024-02-01", "active"),  # conflicting: none
    ]
    result = stg_accounts(raw(spark, "accounts", rows), loaded_at=LOADED)

    assert result.rows_per_key == ROWS_PER_KEY
    counted = result.accepted.select("account_id", result.rows_per_key)
    assert_df_equality(counted, expect(spark, [("ACC-1", 1)], f"account_id string, {ROWS_PER_KEY} bigint"),
                       ignore_nullable=True)
    # The bookkeeping columns come last, after the table's own: dropping them leaves the table.
    assert result.accepted.columns[-2:] == [ROWS_PER_KEY, COLLAPSED]
    assert result.quarantined.columns[-1:] == [COLLAPSED]


def test_each_collapsed_copy_is_counted_once_on_its_keys_first_row(spark):
    kept = ("ACC-1", "Acme", None, "42", "growth", None, "europe", "2024-01-15", "active")
    beta = ("ACC-2", "Beta", None, "1", "starter", None, "apac", "2024-02-01", "active")
    nameless = (None, "Gamma", None, "1", "starter", None, "apac", "2024-02-01", "active")
    rows = [
        kept, kept, kept,  # two copies collapse into the accepted row
        beta, beta, ("ACC-2", "Beta Ltd", None, "1", "starter", None, "apac", "2024-02-01", "active"),
        nameless, nameless,  # rows without a key collapse the same way
    ]
    result = stg_accounts(raw(spark, "accounts", rows), loaded_at=LOADED)

    assert_df_equality(
        result.accepted.select("account_id", COLLAPSED),
        expect(spark, [("ACC-1", 2)], f"account_id string, {COLLAPSED} bigint"),
        ignore_nullable=True,
    )
    # ACC-2: "Beta" sorts first among its versions, so it carries the key's one collapsed copy.
    assert_df_equality(
        result.quarantined.select("account_id", "company_name", "reason", COLLAPSED),
        expect(
            spark,
            [
                ("ACC-2", "Beta", "conflicting duplicate account_id", 1),
                ("ACC-2", "Beta Ltd", "conflicting duplicate account_id", 0),
                (None, "Gamma", "missing account_id", 1),
            ],
            f"account_id string, company_name string, reason string, {COLLAPSED} bigint",
        ),
        ignore_nullable=True,
        ignore_row_order=True,
    )  # 8 rows = 1 accepted + 3 quarantined + 4 collapsed


@pytest.mark.parametrize(
    "record, fields",
    [
        ("ACC-1", 1),
        ("a,,", 3),
        ('ACC-1,"Acme, Inc",x', 3),
        ('ACC-1,"say ""hi"", then go"', 2),
        ('ACC-1,"two\nlines, one field",x,', 4),
        ('"",""""', 2),
    ],
)
def test_field_count_counts_only_the_commas_outside_quotes(spark, record, fields):
    counted = spark.createDataFrame([(record,)], "record string").select(field_count(F.col("record"))).first()[0]
    assert counted == fields


def test_a_record_of_the_wrong_width_is_quarantined_with_its_text_and_never_padded(spark):
    schema = SOURCES["accounts"].read_schema
    good = ("ACC-3", "Extra", None, "40", "growth", None, "europe", "2024-01-10", "active", None)
    rows = [
        good,
        # The reader padded or cut these columns; they must not become a row, nor a version of ACC-3.
        ("ACC-3", "Extra", None, "40", "growth", None, "europe", "2024-01-10", "active",
         "ACC-3,Extra,,40,growth,,europe,2024-01-10,active,EXTRA"),
        ("ACC-4", "Short", None, "40", None, None, None, None, None, "ACC-4,Short,,40"),
    ]
    result = stg_accounts(spark.createDataFrame(rows, schema), loaded_at=LOADED)

    assert_df_equality(result.accepted.select("account_id", "company_name"),
                       expect(spark, [("ACC-3", "Extra")], "account_id string, company_name string"),
                       ignore_nullable=True)
    columns = list(SOURCES["accounts"].columns)
    expected = expect(
        spark,
        [
            (*[None] * len(columns), "ACC-3,Extra,,40,growth,,europe,2024-01-10,active,EXTRA",
             "wrong number of fields (10, expected 9)"),
            (*[None] * len(columns), "ACC-4,Short,,40", "wrong number of fields (4, expected 9)"),
        ],
        ", ".join(f"{c} string" for c in columns) + f", {RAW_RECORD} string, reason string",
    )
    assert_df_equality(quarantined(result).drop("_loaded_at"), expected, ignore_nullable=True, ignore_row_order=True)


def test_quarantine_keeps_every_source_column_as_text(spark):
    rows = [("ACC-5", " Phi ", None, "3", "Platinum", None, "apac", "2024-02-01", "active")]
    result = stg_accounts(raw(spark, "accounts", rows), loaded_at=LOADED)
    expected = expect(
        spark,
        [("ACC-5", "Phi", None, "3", "platinum", None, "apac", "2024-02-01", "active", None,
          "plan_tier outside its domain", LOADED)],
        ", ".join(f"{c} string" for c in SOURCES["accounts"].columns)
        + f", {RAW_RECORD} string, reason string, _loaded_at timestamp",
    )
    assert_df_equality(quarantined(result), expected, ignore_nullable=True)


def test_stg_subscriptions(spark, accounts):
    rows = [
        ("SUB-1", "ACC-1", "novacrm_platform", "growth", "149", "2024-01-15", "", "active"),
        ("SUB-2", "ACC-1", " API_Access ", "Growth", "29.005", "2024-02-01T00:00:00", "2024-05-01", "Cancelled"),
        ("SUB-3", "ACC-404", "novacrm_platform", "growth", "149", "2024-01-15", None, "active"),
        ("SUB-4", "ACC-1", "crm_lite", "growth", "10", "2024-01-15", None, "active"),
        ("SUB-5", "ACC-1", "api_access", "growth", "-1", "2024-01-15", None, "active"),
        ("SUB-6", "ACC-1", "api_access", "growth", "1,000", "2024-01-15", None, "active"),
        ("SUB-7", "ACC-1", "api_access", "growth", "29", "2024-01-15", "soon", "cancelled"),
        ("SUB-8", "ACC-1", "api_access", None, "29", "2024-01-15", None, "active"),
        ("SUB-9", "ACC-2", "api_access", "growth", "29", "2024-01-15", None, "paused"),
    ]
    result = stg_subscriptions(raw(spark, "subscriptions", rows), accounts, loaded_at=LOADED)
    expected = expect(
        spark,
        [
            ("SUB-1", "ACC-1", "novacrm_platform", "growth", Decimal("149.00"), dt.date(2024, 1, 15), None, "active", True, None, LOADED),
            # Feb 2024 has 29 days: 29 + 31 + 30 = 90 days to May 1st.
            ("SUB-2", "ACC-1", "api_access", "growth", Decimal("29.01"), dt.date(2024, 2, 1), dt.date(2024, 5, 1), "cancelled", False, 90, LOADED),
        ],
        "subscription_id string, account_id string, product_name string, plan_tier string, "
        "mrr_amount decimal(18,2), start_date date, end_date date, status string, is_active boolean, "
        "duration_days int, _loaded_at timestamp",
    )
    assert_df_equality(accepted(result), expected, ignore_nullable=True, ignore_row_order=True)
    expected_reasons = expect(
        spark,
        [
            ("SUB-3", "unknown account_id"),
            ("SUB-4", "product_name outside its domain"),
            ("SUB-5", "mrr_amount below 0"),
            ("SUB-6", "unparseable mrr_amount"),
            ("SUB-7", "unparseable end_date"),
            ("SUB-8", "missing plan_tier"),
            ("SUB-9", "status outside its domain"),
        ],
        "subscription_id string, reason string",
    )
    assert_df_equality(reasons(result, "subscription_id"), expected_reasons, ignore_nullable=True, ignore_row_order=True)


def test_stg_invoices(spark, accounts):
    first = ("INV-1", "ACC-1", "2024-03-05", "149.00", " usd", "Paid", "novacrm_platform| API_Access")
    rows = [
        first,
        first,
        ("INV-2", "ACC-1", "2024-04-05", "149", "USD", "void", None),
        ("INV-3", "ACC-2", "2024-04-30T00:00:00", "0", "USD", "overdue", "novacrm_platform||"),
        ("INV-4", "ACC-1", "2024-04-05", "149", "EUR", "paid", None),
        ("INV-5", "ACC-1", "2024-04-05", "-10", "USD", "paid", None),
        ("INV-6", "ACC-X", "2024-04-05", "10", "USD", "paid", None),
        ("INV-7", "ACC-1", "2024-04-05", "10", "USD", "paid", None),
        ("INV-7", "ACC-1", "2024-04-05", "11", "USD", "paid", None),
        ("INV-8", "ACC-1", None, "10", "USD", "paid", None),
    ]
    result = stg_invoices(raw(spark, "invoices", rows), accounts, loaded_at=LOADED)
    expected = expect(
        spark,
        [
            ("INV-1", "ACC-1", dt.date(2024, 3, 5), Decimal("149.00"), "USD", "paid", ["novacrm_platform", "api_access"], dt.date(2024, 3, 1), True, True, LOADED),
            ("INV-2", "ACC-1", dt.date(2024, 4, 5), Decimal("149.00"), "USD", "void", None, dt.date(2024, 4, 1), False, False, LOADED),
            ("INV-3", "ACC-2", dt.date(2024, 4, 30), Decimal("0.00"), "USD", "overdue", ["novacrm_platform"], dt.date(2024, 4, 1), False, True, LOADED),
        ],
        "invoice_id string, account_id string, invoice_date date, amount decimal(18,2), currency string, "
        "status string, line_items array<string>, invoice_month date, is_paid boolean, is_billed boolean, "
        "_loaded_at timestamp",
    )
    assert_df_equality(accepted(result), expected, ignore_nullable=True, ignore_row_order=True)
    expected_reasons = expect(
        spark,
        [
            ("INV-4", "currency outside its domain"),
            ("INV-5", "amount below 0"),
            ("INV-6", "unknown account_id"),
            ("INV-7", "conflicting duplicate invoice_id"),
            ("INV-7", "conflicting duplicate invoice_id"),
            ("INV-8", "missing invoice_date"),
        ],
        "invoice_id string, reason string",
    )
    assert_df_equality(reasons(result, "invoice_id"), expected_reasons, ignore_nullable=True, ignore_row_order=True)


def test_stg_usage_events_keeps_unknown_event_names_as_other(spark, accounts):
    rows = [
        ("EVT-1", "ACC-1", "ACC-1-U1", " Dashboard_Viewed ", "2024-03-05T14:10:00", None),
        ("EVT-2", "ACC-1", "ACC-1-U1", "ai_assist_used", "2024-03-05T23:59:59.5", "{}"),
        ("EVT-3", "ACC-2", "ACC-2-U1", "api_call", "2024-03-06", None),
        ("EVT-4", "ACC-1", "ACC-1-U1", "api_call", "2024-03-05 14:10", None),
        ("EVT-5", "ACC-1", None, "api_call", "2024-03-05T14:10:00", None),
        ("EVT-6", "ACC-404", "U", "api_call", "2024-03-05T14:10:00", None),
    ]
    result = stg_usage_events(raw(spark, "usage_events", rows), accounts, loaded_at=LOADED)
    expected = expect(
        spark,
        [
            ("EVT-1", "ACC-1", "ACC-1-U1", "dashboard_viewed", dt.datetime(2024, 3, 5, 14, 10), dt.date(2024, 3, 5), 14, "reporting", LOADED),
            ("EVT-2", "ACC-1", "ACC-1-U1", "ai_assist_used", dt.datetime(2024, 3, 5, 23, 59, 59, 500000), dt.date(2024, 3, 5), 23, "other", LOADED),
            ("EVT-3", "ACC-2", "ACC-2-U1", "api_call", dt.datetime(2024, 3, 6), dt.date(2024, 3, 6), 0, "advanced", LOADED),
        ],
        "event_id string, account_id string, user_id string, event_name string, event_timestamp timestamp, "
        "event_date date, event_hour int, event_category string, _loaded_at timestamp",
    )
    assert_df_equality(accepted(result), expected, ignore_nullable=True, ignore_row_order=True)
    expected_reasons = expect(
        spark,
        [("EVT-4", "unparseable event_timestamp"), ("EVT-5", "missing user_id"), ("EVT-6", "unknown account_id")],
        "event_id string, reason string",
    )
    assert_df_equality(reasons(result, "event_id"), expected_reasons, ignore_nullable=True, ignore_row_order=True)


def test_usage_payload_and_raw_timestamps_are_kept_for_quarantined_rows_only(spark, accounts):
    # The validated frame is cached while both tables are written: the text only the
    # quarantine needs is blanked on accepted rows, and kept whole on quarantined ones.
    rows = [
        ("EVT-1", "ACC-1", "U1", "api_call", "2024-03-05T14:10:00", '{"page": "home"}'),
        ("EVT-2", "ACC-1", "U1", "api_call", "2024-03-05 14:10", '{"page": "admin"}'),
    ]
    result = stg_usage_events(raw(spark, "usage_events", rows), accounts, loaded_at=LOADED)
    expected = expect(
        spark,
        [
            ("EVT-1", None, None, None),
            ("EVT-2", "2024-03-05 14:10", '{"page": "admin"}', "unparseable event_timestamp"),
        ],
        "event_id string, event_timestamp string, properties string, reason string",
    )
    cached = result.validated.select("event_id", "event_timestamp", "properties", "reason")
    assert_df_equality(cached, expected, ignore_nullable=True, ignore_row_order=True)
    rejected = result.quarantined.select("event_id", "event_timestamp", "properties", "reason")
    assert_df_equality(rejected, expected.where("reason IS NOT NULL"), ignore_nullable=True)


def test_stg_support_tickets_resolution_and_sla(spark, accounts):
    rows = [
        # W = 240 min exactly the p1 target: 4.0 h, no breach.
        ("TKT-1", "ACC-1", "2024-01-01T09:00:00", "2024-01-01T13:00:59", "p1", "bug", "resolved", "4.5"),
        # W = 241 min: still 4.0 h once rounded, but W / 60 > 4 is a breach.
        ("TKT-2", "ACC-1", "2024-01-01T09:00:00", "2024-01-01T13:01:00", "P1", "Bug", "Resolved", None),
        ("TKT-3", "ACC-2", "2024-01-02T10:00:00", None, "p4", "billing", "open", None),
        # W = 2907 min = 48.45 h -> 48.5 (half away from zero); breach of the 48 h p3 target.
        ("TKT-4", "ACC-1", "2024-01-01T00:00:00", "2024-01-03T00:27:00.123", "p3", " How_To ", "resolved", "1.0"),
        ("TKT-5", "ACC-1", "2024-01-01T00:00:00", None, "p3", "bug", "resolved", None),
        ("TKT-6", "ACC-1", "2024-01-01T00:00:00", "2024-01-02T00:00:00", "p3", "bug", "open", None),
        ("TKT-7", "ACC-1", "2024-01-02T00:00:00", "2024-01-01T00:00:00", "p3", "bug", "resolved", None),
        ("TKT-8", "ACC-1", "2024-01-01T00:00:00", None, "p9", "bug", "escalated", None),
        ("TKT-9", "ACC-1", "2024-01-01T00:00:00", "2024-01-01T01:00:00", "p3", "bug", "resolved", "5.5"),
        ("TKT-10", "ACC-1", "2024-01-05T08:00:00", None, "p2", "onboarding", "escalated", None),
    ]
    result = stg_support_tickets(raw(spark, "support_tickets", rows), accounts, loaded_at=LOADED)
    ts = dt.datetime
    expected = expect(
        spark,
        [
            ("TKT-1", "ACC-1", ts(2024, 1, 1, 9), ts(2024, 1, 1, 13, 0, 59), "p1", "bug", "resolved", 4.5, 4.0, 4, False, dt.date(2024, 1, 1), LOADED),
            ("TKT-2", "ACC-1", ts(2024, 1, 1, 9), ts(2024, 1, 1, 13, 1), "p1", "bug", "resolved", None, 4.0, 4, True, dt.date(2024, 1, 1), LOADED),
            ("TKT-3", "ACC-2", ts(2024, 1, 2, 10), None, "p4", "billing", "open", None, None, 120, None, dt.date(2024, 1, 2), LOADED),
            ("TKT-4", "ACC-1", ts(2024, 1, 1), ts(2024, 1, 3, 0, 27, 0, 123000), "p3", "how_to", "resolved", 1.0, 48.5, 48, True, dt.date(2024, 1, 1), LOADED),
            ("TKT-10", "ACC-1", ts(2024, 1, 5, 8), None, "p2", "onboarding", "escalated", None, None, 12, None, dt.date(2024, 1, 5), LOADED),
        ],
        "ticket_id string, account_id string, created_at timestamp, resolved_at timestamp, priority string, "
        "category string, status string, satisfaction_score double, resolution_hours double, "
        "sla_target_hours int, is_sla_breach boolean, created_date date, _loaded_at timestamp",
    )
    assert_df_equality(accepted(result), expected, ignore_nullable=True, ignore_row_order=True)
    expected_reasons = expect(
        spark,
        [
            ("TKT-5", "resolved ticket without resolved_at"),
            ("TKT-6", "open ticket with resolved_at"),
            ("TKT-7", "resolved_at before created_at"),
            ("TKT-8", "priority outside its domain"),
            ("TKT-9", "satisfaction_score above 5.0"),
        ],
        "ticket_id string, reason string",
    )
    assert_df_equality(reasons(result, "ticket_id"), expected_reasons, ignore_nullable=True, ignore_row_order=True)
