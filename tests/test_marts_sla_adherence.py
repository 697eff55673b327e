"""sla_adherence on hand-built dim_account and fct_tickets; expected values derived by hand.

D = 2024-03-31. Percentiles: exact linear interpolation at position p x (n - 1) of the sorted hours.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality

from novacrm_spark.models.marts.sla_adherence import sla_adherence

from table_schemas import DIM_ACCOUNT, FCT_TICKETS, SLA_ADHERENCE as OUTPUT

D = dt.date(2024, 3, 31)

TARGET = {"p1": 4, "p2": 12, "p3": 48, "p4": 120}


def account(account_id: str, segment: str, signup: dt.date = dt.date(2023, 5, 1)) -> tuple:
    z = Decimal("0.00")
    return (account_id, f"Co {account_id}", "retail", 10, "starter", "owner", "latam", signup, "active", 300, 10,
            segment, z, z, 0, 0, 0, None, None, 0, 0, 0.0, 0.0, 0, "growing")


def ticket(ticket_id: str, account_id: str, day: dt.date, priority: str, status: str,
           hours: float | None = None, csat: float | None = None) -> tuple:
    created = dt.datetime.combine(day, dt.time(8))
    resolved = created + dt.timedelta(hours=hours) if hours is not None else None
    breach = None if hours is None else hours > TARGET[priority]
    return (ticket_id, account_id, created, resolved, priority, "bug", status, csat, hours, TARGET[priority],
            breach, day, day.month, day.strftime("%Y-%m"), None if hours is None else hours / TARGET[priority],
            "fast" if hours is not None else "unresolved", "no_rating" if csat is None else "neutral", "starter",
            "owner", "latam")


def _build(spark):
    d = dt.date
    accounts = [account("s1", "smb"), account("s2", "enterprise"), account("s9", "smb", signup=d(2024, 4, 2))]
    mar = d(2024, 3, 10)
    tickets = [
        # p2, n = 4, given unsorted: [1.0, 2.0, 3.0, 10.0]; csat 3.0, 3.0, 3.0, 3.1 -> mean 3.025 -> 3.03
        ticket("t01", "s2", mar, "p2", "resolved", 10.0, 3.0),
        ticket("t02", "s1", mar, "p2", "resolved", 1.0, 3.0),
        ticket("t03", "s2", D, "p2", "resolved", 3.0, 3.1),
        ticket("t04", "s1", d(2024, 3, 1), "p2", "resolved", 2.0, 3.0),
        # p1, n = 2: [0.1, 4.6] (4.6 > 4 breaches) + one open ticket rated 2.0
        ticket("t05", "s1", mar, "p1", "resolved", 0.1, 5.0),
        ticket("t06", "s2", mar, "p1", "resolved", 4.6),
        ticket("t07", "s2", mar, "p1", "open", None, 2.0),
        # p3, n = 1
        ticket("t08", "s1", mar, "p3", "resolved", 5.5),
        # p4: nothing resolved
        ticket("t09", "s1", mar, "p4", "open"),
        ticket("t10", "s2", mar, "p4", "escalated"),
        # February: its own month
        ticket("t11", "s1", d(2024, 2, 29), "p1", "resolved", 2.0),
        # not counted: created after D, unknown account, account signed up after D
        ticket("t12", "s1", d(2024, 4, 1), "p1", "resolved", 1.0, 1.0),
        ticket("t13", "zz", mar, "p1", "resolved", 1.0, 1.0),
        ticket("t14", "s9", mar, "p1", "resolved", 1.0, 1.0),
    ]
    return sla_adherence(
        spark.createDataFrame(accounts, DIM_ACCOUNT), spark.createDataFrame(tickets, FCT_TICKETS), as_of_date=D
    )


def test_counts_adherence_and_percentiles(spark):
    actual = _build(spark)
    rows = [
        # month, type, value, total, resolved, breaches, within, unresolved, adherence, avg, median, p90, csat
        # n = 4 [1, 2, 3, 10]: mean 4.0; median pos 1.5 -> 2.5; p90 pos 2.7 -> 3 + 0.7 x 7 = 7.9
        ("2024-03", "priority", "p2", 4, 4, 0, 4, 0, 100.0, 4.0, 2.5, 7.9, 3.03),
        # n = 2 [0.1, 4.6]: mean 2.35 -> 2.4 (a double mean gives 2.3499.. -> 2.3); median pos 0.5 -> 2.35 -> 2.4;
        # p90 pos 0.9 -> 0.1 + 0.9 x 4.5 = 4.15 -> 4.2; adherence 1 / 2; csat over rated tickets (5.0, 2.0) = 3.5
        ("2024-03", "priority", "p1", 3, 2, 1, 1, 1, 50.0, 2.4, 2.4, 4.2, 3.5),
        # n = 1: every statistic is the value itself; no ratings -> null csat
        ("2024-03", "priority", "p3", 1, 1, 0, 1, 0, 100.0, 5.5, 5.5, 5.5, None),
        # nothing resolved: adherence and hours null
        ("2024-03", "priority", "p4", 2, 0, 0, 0, 2, None, None, None, None, None),
        # smb: [0.1, 1.0, 2.0, 5.5]: mean 2.15 -> 2.2; median 1.0 + 0.5 x 1.0 = 1.5; p90 2.0 + 0.7 x 3.5 = 4.45 -> 4.5;
        # csat (3.0, 3.0, 5.0) = 3.6667 -> 3.67
        ("2024-03", "segment", "smb", 5, 4, 0, 4, 1, 100.0, 2.2, 1.5, 4.5, 3.67),
        # enterprise: [3.0, 4.6, 10.0]: mean 5.8667 -> 5.9; median pos 1 -> 4.6; p90 pos 1.8 -> 4.6 + 0.8 x 5.4 = 8.92
        # -> 8.9; adherence 2 / 3 -> 66.7; csat (3.0, 3.1, 2.0) = 2.7
        ("2024-03", "segment", "enterprise", 5, 3, 1, 2, 2, 66.7, 5.9, 4.6, 8.9, 2.7),
        ("2024-02", "priority", "p1", 1, 1, 0, 1, 0, 100.0, 2.0, 2.0, 2.0, None),
        ("2024-02", "segment", "smb", 1, 1, 0, 1, 0, 100.0, 2.0, 2.0, 2.0, None),
    ]
    expected = spark.createDataFrame(rows, OUTPUT)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_output_schema(spark):
    actual = _build(spark)
    expected = [(f.name, f.dataType.simpleString()) for f in spark.createDataFrame([], OUTPUT).schema.fields]
    assert [(f.name, f.dataType.simpleString()) for f in actual.schema.fields] == expected
