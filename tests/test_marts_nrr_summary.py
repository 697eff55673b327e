"""nrr_summary on hand-built fct_revenue ledgers; expected values derived by hand, plus a property test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from hypothesis import given, settings
from hypothesis import strategies as st

from novacrm_spark.models.marts.nrr_summary import nrr_summary

from table_schemas import FCT_REVENUE, NRR_SUMMARY as OUTPUT

AMOUNTS = ("new", "reactivation", "expansion", "contraction", "churn")


def row(account_id: str, month: dt.date, mrr, previous, movement: str, first: dt.date) -> tuple:
    """One fct_revenue row whose movement amounts satisfy the ledger identity."""
    m, p = Decimal(mrr), Decimal(previous)
    amounts = dict.fromkeys(AMOUNTS, Decimal("0.00"))
    by_movement = {"new": m, "reactivation": m, "expansion": m - p, "contraction": p - m, "churn": p}
    if movement in by_movement:  # "flat" moves nothing
        amounts[movement] = by_movement[movement]
    month_number = (month.year * 12 + month.month) - (first.year * 12 + first.month) + 1
    return (account_id, month, m, m, m * 12, p, movement, *amounts.values(), m - p, month_number, first)


def month(m: int, year: int = 2024) -> dt.date:
    return dt.date(year, m, 1)


def _ledger() -> list[tuple]:
    jan = month(1)
    return [
        # A: new 100, expansion to 150, churn, (April empty), reactivation 80, contraction to 60
        row("A", month(1), "100.00", "0", "new", jan),
        row("A", month(2), "150.00", "100.00", "expansion", jan),
        row("A", month(3), "0", "150.00", "churn", jan),
        row("A", month(5), "80.00", "0", "reactivation", jan),
        row("A", month(6), "60.00", "80.00", "contraction", jan),
        row("A", month(7), "70.00", "60.00", "expansion", jan),  # after M: ignored
        # B: new 200, contraction to 149, churn
        row("B", month(1), "200.00", "0", "new", jan),
        row("B", month(2), "149.00", "200.00", "contraction", jan),
        row("B", month(3), "0", "149.00", "churn", jan),
        # C: new 50, churn in February, reactivation 30 in June
        row("C", month(1), "50.00", "0", "new", jan),
        row("C", month(2), "0", "50.00", "churn", jan),
        row("C", month(6), "30.00", "0", "reactivation", jan),
        # D: new 50, flat, churn
        row("D", month(1), "50.00", "0", "new", jan),
        row("D", month(2), "50.00", "50.00", "flat", jan),
        row("D", month(3), "0", "50.00", "churn", jan),
        # E: new 25 in June
        row("E", month(6), "25.00", "0", "new", month(6)),
    ]


def _money(*values: str) -> list[Decimal]:
    return [Decimal(v) for v in values]


def test_bridge_zero_filled_gap_and_retention(spark):
    actual = nrr_summary(spark.createDataFrame(_ledger(), FCT_REVENUE), as_of_date=dt.date(2024, 6, 15))
    expected_rows = [
        # month, starting, new, react, exp, contr, churned, ending, paying, new#, react#, churn#, nrr, grr, growth, arr
        # January: starting 0 -> the three rates are null
        (month(1), *_money("0", "400", "0", "0", "0", "0", "400"), 4, 4, 0, 0, None, None, None, Decimal("4800")),
        # February: nrr (400 + 50 - 51 - 50) / 400 = 87.25 -> 87.3; grr 299 / 400 = 74.75 -> 74.8;
        # growth (349 - 400) / 400 = -12.75 -> -12.8 (half away from zero)
        (month(2), *_money("400", "0", "0", "50", "51", "50", "349"), 3, 0, 0, 1, 87.3, 74.8, -12.8,
         Decimal("4188")),
        # March: everyone left
        (month(3), *_money("349", "0", "0", "0", "0", "349", "0"), 0, 0, 0, 3, 0.0, 0.0, -100.0, Decimal("0")),
        # April: no ledger row at all -> zero-filled, starting 0 -> null rates
        (month(4), *_money("0", "0", "0", "0", "0", "0", "0"), 0, 0, 0, 0, None, None, None, Decimal("0")),
        # May: reactivation from 0 -> null rates
        (month(5), *_money("0", "0", "80", "0", "0", "0", "80"), 1, 0, 1, 0, None, None, None, Decimal("960")),
        # June: new 25 and reactivation 30 stay out of NRR: (80 - 20) / 80 = 75.0 (not 112.5);
        # growth (115 - 80) / 80 = 43.75 -> 43.8
        (month(6), *_money("80", "25", "30", "0", "20", "0", "115"), 3, 1, 1, 0, 75.0, 75.0, 43.8,
         Decimal("1380")),
    ]
    expected = spark.createDataFrame(expected_rows, OUTPUT)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_output_schema_and_empty_ledger(spark):
    actual = nrr_summary(spark.createDataFrame(_ledger(), FCT_REVENUE), as_of_date=dt.date(2024, 6, 15))
    expected = [(f.name, f.dataType.simpleString()) for f in spark.createDataFrame([], OUTPUT).schema.fields]
    assert [(f.name, f.dataType.simpleString()) for f in actual.schema.fields] == expected

    empty = nrr_summary(spark.createDataFrame([], FCT_REVENUE), as_of_date=dt.date(2024, 6, 15))
    assert empty.count() == 0
    assert [(f.name, f.dataType.simpleString()) for f in empty.schema.fields] == expected


# --- property: the bridge closes exactly on any valid ledger ------------------------------------------

AS_OF = dt.date(2024, 6, 20)
MONTHS = [month(m) for m in range(1, 7)]  # 2024-01 ... 2024-06 = M


def ledger_from_billing(billing: dict[str, list[int]]) -> list[tuple]:
    """fct_revenue rows, per the spec's ledger rules, from each account's billed cents per month (0 = empty)."""
    rows = []
    for account_id, cents in billing.items():
        amounts = [Decimal(c) / 100 for c in cents]
        paid = [i for i, a in enumerate(amounts) if a > 0]
        if not paid:
            continue
        first = MONTHS[paid[0]]
        for i, mrr in enumerate(amounts):
            previous = amounts[i - 1] if i > 0 else Decimal(0)
            if mrr > 0:
                if i == paid[0]:
                    movement = "new"
                elif previous == 0:
                    movement = "reactivation"
                else:
                    movement = "expansion" if mrr > previous else "contraction" if mrr < previous else "flat"
            elif previous > 0:
                movement = "churn"
            else:
                continue
            rows.append(row(account_id, MONTHS[i], mrr, previous, movement, first))
    return rows


billing_strategy = st.dictionaries(
    keys=st.sampled_from(["a1", "a2", "a3", "a4"]),
    values=st.lists(st.one_of(st.just(0), st.integers(1, 5_000_000)), min_size=6, max_size=6),
    min_size=1,
    max_size=4,
)


@settings(max_examples=20, deadline=None)
@given(billing=billing_strategy)
def test_bridge_invariant_holds_exactly_on_random_ledgers(spark, billing):
    rows = ledger_from_billing(billing)
    result = nrr_summary(spark.createDataFrame(rows, FCT_REVENUE), as_of_date=AS_OF).collect()
    if not rows:
        assert result == []
        return
    result.sort(key=lambda r: r.revenue_month)
    first = min(r[1] for r in rows)
    assert [r.revenue_month for r in result] == [m for m in MONTHS if m >= first]
    previous_ending = Decimal("0.00")
    for r in result:
        assert r.starting_mrr == previous_ending
        assert r.ending_mrr == (
            r.starting_mrr + r.new_mrr + r.reactivation_mrr + r.expansion_mrr - r.contraction_mrr - r.churned_mrr
        )
        # ending is the month's billed total, straight from the generator
        billed = sum((Decimal(c[MONTHS.index(r.revenue_month)]) / 100 for c in billing.values()), Decimal(0))
        assert r.ending_mrr == billed
        previous_ending = r.ending_mrr
