"""fct_revenue: the MRR ledger, on hand-built invoices with hand-derived expected rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from novacrm_spark.models.core.fct_revenue import fct_revenue

from table_schemas import FCT_REVENUE as OUT_DDL, STG_ACCOUNTS as ACCOUNTS_DDL, STG_INVOICES as INVOICES_DDL

LOADED = dt.datetime(2025, 2, 1, 6, 0, 0)
AS_OF = dt.date(2024, 6, 15)  # M = 2024-06-01

EXPECTED_SCHEMA = [
    ("account_id", "string"), ("revenue_month", "date"), ("mrr", "decimal(18,2)"),
    ("collected_mrr", "decimal(18,2)"), ("arr", "decimal(18,2)"), ("previous_mrr", "decimal(18,2)"),
    ("revenue_movement", "string"), ("new_mrr", "decimal(18,2)"), ("reactivation_mrr", "decimal(18,2)"),
    ("expansion_mrr", "decimal(18,2)"), ("contraction_mrr", "decimal(18,2)"), ("churned_mrr", "decimal(18,2)"),
    ("net_mrr_change", "decimal(18,2)"), ("month_number", "int"), ("first_revenue_month", "date"),
]


def account(account_id, signup=dt.date(2023, 6, 1)):
    return (account_id, f"Co {account_id}", "saas", 100, "growth", "Ann", "europe", signup, "active", LOADED)


def invoice(invoice_id, account_id, day, amount, status="paid", items=("novacrm_platform",)):
    # The staging-derived columns follow the staging spec (month, paid = paid, billed = not void).
    return (invoice_id, account_id, day, Decimal(amount), "USD", status, list(items), day.replace(day=1),
            status == "paid", status != "void", LOADED)


def m(year, month):
    return dt.date(year, month, 1)


def row(account_id, month, mrr, collected, prev, movement, amounts, month_number, first):
    """An expected ledger row; ``amounts`` = (new, reactivation, expansion, contraction, churned)."""
    d = [Decimal(a) for a in amounts]
    mrr_d, prev_d = Decimal(mrr), Decimal(prev)
    return (account_id, month, mrr_d, Decimal(collected), mrr_d * 12, prev_d, movement, *d,
            mrr_d - prev_d, month_number, first)


def run(spark, accounts, invoices, as_of=AS_OF):
    accounts_df = accounts if not isinstance(accounts, list) else spark.createDataFrame(accounts, ACCOUNTS_DDL)
    return fct_revenue(
        accounts_df,
        spark.createDataFrame(invoices, INVOICES_DDL),
        as_of_date=as_of,
    )


def assert_ledger(spark, actual, expected_rows):
    expected = spark.createDataFrame(expected_rows, OUT_DDL)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


Z = "0.00"


def test_output_schema(spark):
    out = run(spark, [account("a")], [invoice("i1", "a", dt.date(2024, 1, 5), "10.00")])
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == EXPECTED_SCHEMA


def test_one_month_gap_expansion_flat_contraction_and_last_month_is_m(spark):
    invoices = [
        invoice("a1", "a", dt.date(2024, 1, 5), "100.00"),
        # Feb: an overdue invoice is billed (mrr) but not collected.
        invoice("a2", "a", dt.date(2024, 2, 5), "100.00"),
        invoice("a3", "a", dt.date(2024, 2, 20), "50.00", "overdue", ("api_access",)),
        invoice("a4", "a", dt.date(2024, 3, 5), "150.00", items=("novacrm_platform", "api_access")),
        # April: nothing -> churn row; May: reactivation.
        invoice("a5", "a", dt.date(2024, 5, 5), "80.00", items=("novacrm_platform", "api_access")),
        # June (= M): the add-on was cancelled -> contraction; no churn row after M.
        invoice("a6", "a", dt.date(2024, 6, 15), "60.00"),  # dated D itself: included
        # Dated after D (same month and later month): ignored.
        invoice("a7", "a", dt.date(2024, 6, 16), "500.00"),
        invoice("a8", "a", dt.date(2024, 7, 2), "60.00"),
    ]
    first = m(2024, 1)
    expected = [
        row("a", m(2024, 1), "100.00", "100.00", Z, "new", ("100.00", Z, Z, Z, Z), 1, first),
        row("a", m(2024, 2), "150.00", "100.00", "100.00", "expansion", (Z, Z, "50.00", Z, Z), 2, first),
        row("a", m(2024, 3), "150.00", "150.00", "150.00", "flat", (Z, Z, Z, Z, Z), 3, first),
        row("a", m(2024, 4), Z, Z, "150.00", "churn", (Z, Z, Z, Z, "150.00"), 4, first),
        row("a", m(2024, 5), "80.00", "80.00", Z, "reactivation", (Z, "80.00", Z, Z, Z), 5, first),
        row("a", m(2024, 6), "60.00", "60.00", "80.00", "contraction", (Z, Z, Z, "20.00", Z), 6, first),
    ]
    assert_ledger(spark, run(spark, [account("a")], invoices), expected)


def test_two_month_gap_void_zero_month_and_churn_at_m(spark):
    invoices = [
        invoice("b1", "b", dt.date(2024, 1, 10), "200.00"),
        invoice("b2", "b", dt.date(2024, 1, 11), "999.00", "void"),  # void is not revenue
        invoice("b3", "b", dt.date(2024, 2, 10), "300.00", "void"),  # Feb empty -> churn row
        invoice("b4", "b", dt.date(2024, 3, 10), "0.00"),  # billed total 0 -> empty, no row
        invoice("b5", "b", dt.date(2024, 4, 10), "120.00", "overdue"),  # reactivation, nothing collected
        invoice("b6", "b", dt.date(2024, 5, 10), "120.00"),  # last revenue month = M - 1
    ]
    first = m(2024, 1)
    expected = [
        row("b", m(2024, 1), "200.00", "200.00", Z, "new", ("200.00", Z, Z, Z, Z), 1, first),
        row("b", m(2024, 2), Z, Z, "200.00", "churn", (Z, Z, Z, Z, "200.00"), 2, first),
        row("b", m(2024, 4), "120.00", Z, Z, "reactivation", (Z, "120.00", Z, Z, Z), 4, first),
        row("b", m(2024, 5), "120.00", "120.00", "120.00", "flat", (Z, Z, Z, Z, Z), 5, first),
        row("b", m(2024, 6), Z, Z, "120.00", "churn", (Z, Z, Z, Z, "120.00"), 6, first),
    ]
    assert_ledger(spark, run(spark, [account("b")], invoices), expected)


def test_first_revenue_after_void_only_month_is_new_and_one_churn_row_per_gap(spark):
    invoices = [
        invoice("f0", "f", dt.date(2024, 2, 1), "40.00", "void"),
        invoice("f1", "f", dt.date(2024, 3, 31), "30.25"),
        # April, May, June empty: exactly one churn row (April).
    ]
    first = m(2024, 3)
    expected = [
        row("f", m(2024, 3), "30.25", "30.25", Z, "new", ("30.25", Z, Z, Z, Z), 1, first),
        row("f", m(2024, 4), Z, Z, "30.25", "churn", (Z, Z, Z, Z, "30.25"), 2, first),
    ]
    assert_ledger(spark, run(spark, [account("f")], invoices), expected)


def test_account_signed_up_after_d_is_excluded(spark):
    accounts = [account("late", signup=dt.date(2024, 6, 16)), account("edge", signup=AS_OF)]
    invoices = [
        invoice("l1", "late", dt.date(2024, 5, 3), "10.00"),
        invoice("e1", "edge", dt.date(2024, 6, 1), "10.00"),  # signed up on D: kept
    ]
    expected = [row("edge", m(2024, 6), "10.00", "10.00", Z, "new", ("10.00", Z, Z, Z, Z), 1, m(2024, 6))]
    assert_ledger(spark, run(spark, accounts, invoices), expected)


# --- property test ----------------------------------------------------------------

BASE = dt.date(2023, 1, 1)
PROPERTY_INPUTS: dict = {}


def add_months(day: dt.date, n: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + n
    return dt.date(total // 12, total % 12 + 1, 1)


invoice_strategy = st.tuples(
    st.sampled_from(["p", "q", "r"]),
    st.integers(min_value=0, max_value=9),  # month offset from BASE
    st.sampled_from(["0.00", "10.00", "25.50", "100.00"]),
    st.sampled_from(["paid", "overdue", "void"]),
)


# 20 examples of up to 3 accounts each: the coverage of ~25 two-account runs in less Spark time.
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(invoice_strategy, max_size=15), st.integers(min_value=0, max_value=11))
def test_ledger_invariants_on_random_invoices(spark, drawn, as_of_offset):
    as_of = add_months(BASE, as_of_offset).replace(day=15)
    as_of_month = as_of.replace(day=1)
    invoices = [
        invoice(f"i{n}", acct, add_months(BASE, offset).replace(day=10), amount, status)
        for n, (acct, offset, amount, status) in enumerate(drawn)
    ]
    if "accounts" not in PROPERTY_INPUTS:  # built once: only the invoices change between examples
        PROPERTY_INPUTS["accounts"] = spark.createDataFrame([account(a, BASE) for a in "pqr"], ACCOUNTS_DDL)
    rows = run(spark, PROPERTY_INPUTS["accounts"], invoices, as_of=as_of).collect()

    # Independent oracle: billed months per account from the drawn invoices.
    billed: dict[tuple[str, dt.date], Decimal] = {}
    for acct, offset, amount, status in drawn:
        month = add_months(BASE, offset)
        if status != "void" and month <= as_of_month:
            billed[(acct, month)] = billed.get((acct, month), Decimal(0)) + Decimal(amount)

    by_account: dict[str, list] = {}
    for r in rows:
        by_account.setdefault(r.account_id, []).append(r)
        amounts = [r.new_mrr, r.reactivation_mrr, r.expansion_mrr, r.contraction_mrr, r.churned_mrr]
        assert r.mrr == (r.previous_mrr + r.new_mrr + r.reactivation_mrr + r.expansion_mrr
                         - r.contraction_mrr - r.churned_mrr)
        assert r.net_mrr_change == r.mrr - r.previous_mrr
        nonzero = [a for a in amounts if a != 0]
        assert len(nonzero) == (0 if r.revenue_movement == "flat" else 1), r
        assert r.revenue_month <= as_of_month
        assert r.mrr == billed.get((r.account_id, r.revenue_month), Decimal(0))
        assert (r.revenue_movement == "churn") == (r.mrr == 0)

    for acct in "pqr":
        revenue_months = sorted(mo for (a, mo), v in billed.items() if a == acct and v > 0)
        ledger = sorted(by_account.get(acct, []), key=lambda r: r.revenue_month)
        # Every month with billed revenue has a row.
        assert [r.revenue_month for r in ledger if r.mrr > 0] == revenue_months
        # Churn rows: exactly the first empty month after each revenue run, if <= M (one per gap).
        expected_churn = [
            add_months(mo, 1) for mo in revenue_months
            if add_months(mo, 1) not in revenue_months and add_months(mo, 1) <= as_of_month
        ]
        assert [r.revenue_month for r in ledger if r.revenue_movement == "churn"] == expected_churn
        for before, after in zip(ledger, ledger[1:]):
            assert not (before.revenue_movement == "churn" and after.revenue_movement == "churn")
