"""revenue_cohort_analysis on hand-built dim_account and fct_revenue; expected values derived by hand.

D = 2024-04-15, so M = 2024-04-01.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality

from novacrm_spark.models.marts.revenue_cohort_analysis import revenue_cohort_analysis

from table_schemas import DIM_ACCOUNT, FCT_REVENUE, REVENUE_COHORT_ANALYSIS as OUTPUT

D = dt.date(2024, 4, 15)


def month(m: int, year: int = 2024) -> dt.date:
    return dt.date(year, m, 1)


def account(account_id: str, signup: dt.date) -> tuple:
    z = Decimal("0.00")
    return (account_id, f"Co {account_id}", "retail", 10, "starter", "owner", "latam", signup, "active", 100, 3,
            "smb", z, z, 0, 0, 0, None, None, 0, 0, 0.0, 0.0, 0, "growing")


def revenue(account_id: str, m: dt.date, mrr: str, previous: str, movement: str, first: dt.date) -> tuple:
    a, p = Decimal(mrr), Decimal(previous)
    amounts = dict.fromkeys(("new", "reactivation", "expansion", "contraction", "churn"), Decimal("0.00"))
    by_movement = {"new": a, "reactivation": a, "expansion": a - p, "contraction": p - a, "churn": p}
    if movement in by_movement:
        amounts[movement] = by_movement[movement]
    number = (m.year * 12 + m.month) - (first.year * 12 + first.month) + 1
    return (account_id, m, a, a, a * 12, p, movement, *amounts.values(), a - p, number, first)


def _build(spark):
    d = dt.date
    accounts = [
        account("c1", d(2024, 1, 10)), account("c2", d(2024, 1, 20)),  # cohort 2024-01
        account("c3", d(2024, 2, 5)), account("c4", d(2024, 2, 28)),  # cohort 2024-02 (no revenue in February)
        account("c6", d(2024, 3, 1)), account("c7", d(2024, 3, 2)), account("c8", d(2024, 3, 31)),  # 2024-03
        account("c9", d(2024, 1, 5)),  # never paid: not a cohort member
        account("c10", d(2023, 12, 5)),  # only paid after M: cohort 2023-12 must not appear
    ]
    jan, feb, mar, apr, may = (month(m) for m in (1, 2, 3, 4, 5))
    ledger = [
        revenue("c1", jan, "100.00", "0", "new", jan), revenue("c1", feb, "120.00", "100.00", "expansion", jan),
        revenue("c1", mar, "0", "120.00", "churn", jan),
        # c2 signed up in January but first paid in March: its period 0 is March
        revenue("c2", mar, "200.00", "0", "new", mar), revenue("c2", apr, "200.00", "200.00", "flat", mar),
        revenue("c3", mar, "50.00", "0", "new", mar), revenue("c3", apr, "80.00", "50.00", "expansion", mar),
        revenue("c4", apr, "100.00", "0", "new", apr),
        revenue("c6", mar, "10.00", "0", "new", mar), revenue("c6", apr, "10.00", "10.00", "flat", mar),
        revenue("c7", mar, "10.01", "0", "new", mar), revenue("c7", apr, "10.01", "10.01", "flat", mar),
        revenue("c8", mar, "10.00", "0", "new", mar), revenue("c8", apr, "0", "10.00", "churn", mar),
        revenue("c10", may, "40.00", "0", "new", may),
        revenue("zz", mar, "999.00", "0", "new", mar),  # not in dim_account
    ]
    return revenue_cohort_analysis(
        spark.createDataFrame(accounts, DIM_ACCOUNT), spark.createDataFrame(ledger, FCT_REVENUE), as_of_date=D
    )


def _m(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


def test_cohort_grid_retention_and_means(spark):
    actual = _build(spark)
    jan, feb, mar = month(1), month(2), month(3)
    rows = [
        # cohort 2024-01: c1 (first paid Jan) + c2 (first paid Mar); earliest first revenue Jan -> periods 0..3
        # period 0: c1 Jan 100 + c2 Mar 200
        (jan, "2024-01", 0, 2, "300.00", "150.00", 2, "300.00", 100.0, 100.0, "0.00"),
        # period 1: c1 Feb 120 + c2 Apr 200 = 320 -> 320 / 300 = 106.67 % -> 106.7; 160 - 150 = 10.00
        (jan, "2024-01", 1, 2, "320.00", "160.00", 2, "300.00", 100.0, 106.7, "10.00"),
        # period 2: c1's churn row has mrr 0 -> nobody active; period 3: no rows at all -> zero-filled
        (jan, "2024-01", 2, 0, "0.00", None, 2, "300.00", 0.0, 0.0, None),
        (jan, "2024-01", 3, 0, "0.00", None, 2, "300.00", 0.0, 0.0, None),
        # cohort 2024-02: nobody paid in February; earliest first revenue Mar -> periods 0..1
        (feb, "2024-02", 0, 2, "150.00", "75.00", 2, "150.00", 100.0, 100.0, "0.00"),
        # period 1: c3 Apr 80 -> 50.0 %, 80 / 150 = 53.33 % -> 53.3; 80 - 75 = 5.00
        (feb, "2024-02", 1, 1, "80.00", "80.00", 2, "150.00", 50.0, 53.3, "5.00"),
        # cohort 2024-03: 10.00 + 10.01 + 10.00 = 30.01; mean 10.00333 -> 10.00
        (mar, "2024-03", 0, 3, "30.01", "10.00", 3, "30.01", 100.0, 100.0, "0.00"),
        # period 1: 20.01 / 2 = 10.005 -> 10.01 (half away); 2/3 -> 66.7; 20.01 / 30.01 = 66.678 % -> 66.7;
        # change on unrounded means: 10.005 - 10.00333 = 0.00167 -> 0.00 (rounded means would give 0.01)
        (mar, "2024-03", 1, 2, "20.01", "10.01", 3, "30.01", 66.7, 66.7, "0.00"),
    ]
    expected = spark.createDataFrame(
        [(c, lbl, p, a, _m(mrr), _m(avg), ia, _m(im), ar, rr, _m(chg))
         for c, lbl, p, a, mrr, avg, ia, im, ar, rr, chg in rows],
        OUTPUT,
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_output_schema(spark):
    actual = _build(spark)
    expected = [(f.name, f.dataType.simpleString()) for f in spark.createDataFrame([], OUTPUT).schema.fields]
    assert [(f.name, f.dataType.simpleString()) for f in actual.schema.fields] == expected
