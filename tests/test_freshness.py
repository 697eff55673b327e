"""Source freshness: the contracts' limits, the decision, and the run's source check on hand-built frames."""

from __future__ import annotations

import datetime as dt

import pytest

from novacrm_spark.as_of import date_bounds, latest_date
from novacrm_spark.errors import NovaCrmError, StaleDataError
from novacrm_spark.freshness import judge
from novacrm_spark.quality.contracts import ContractError, Freshness, default_contracts, parse_table
from novacrm_spark.registry import all_models, select_models
from novacrm_spark.run.freshness import NODE, SourcePlan, check_sources
from novacrm_spark.run.schedule import Node

D = dt.date(2025, 1, 31)
OLDEST = dt.date(2023, 3, 14)
USAGE = Freshness("event_date", 2, "error")
TICKETS = Freshness("created_date", 3, "warn")


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- the contracts ---------------------------------------------------------------------------------


def test_four_sources_set_a_limit_and_accounts_none():
    contracts = default_contracts()
    limits = {c.name: (c.freshness.column, c.freshness.max_staleness_days, c.freshness.severity)
              for c in contracts.tables.values() if c.freshness}
    assert limits == {
        "stg_usage_events": ("event_date", 2, "error"),
        "stg_invoices": ("invoice_date", 7, "error"),
        "stg_support_tickets": ("created_date", 3, "warn"),
        "stg_subscriptions": ("start_date", 31, "warn"),
    }
    assert all(c.freshness.description for c in contracts.tables.values() if c.freshness)
    assert "No freshness limit" in contracts.for_model("stg_accounts").description


BODY = {"description": "Events.", "columns": {
    "event_id": {"type": "string", "description": "Id.", "checks": ["not_null", "unique"]},
    "event_date": {"type": "date", "description": "Day."},
}}


@pytest.mark.parametrize(
    "layer, freshness, problem",
    [
        ("core", {"column": "event_date", "max_staleness_days": 2, "description": "x"},
         "only a staging model's contract gives its source a freshness limit"),
        ("staging", {"column": "event_date", "max_staleness_days": 2, "description": "x", "warn_after": 1},
         "unknown key(s) warn_after"),
        ("staging", {"column": "event_date", "max_staleness_days": "2", "description": "x"},
         "max_staleness_days must be a whole number of days >= 0; got '2'"),
        ("staging", {"column": "event_date", "max_staleness_days": 2, "severity": "fatal", "description": "x"},
         "severity must be error or warn; got 'fatal'"),
        ("staging", {"column": "event_date", "max_staleness_days": 2}, "needs a column and a description"),
        ("staging", {"column": "event_id", "max_staleness_days": 2, "description": "x"},
         "column 'event_id' must be a declared date or timestamp column"),
    ],
)
def test_a_bad_freshness_limit_is_refused_naming_the_problem(layer, freshness, problem):
    with pytest.raises(ContractError, match="stg_usage_events.yml: .*freshness: ") as error:
        parse_table(layer, "stg_usage_events", {**BODY, "freshness": freshness}, "stg_usage_events.yml")
    assert problem in str(error.value)


def test_a_freshness_limit_defaults_to_severity_error():
    body = {**BODY, "freshness": {"column": "event_date", "max_staleness_days": 0, "description": "Daily."}}
    assert parse_table("staging", "stg_usage_events", body, "x.yml").freshness == Freshness(
        "event_date", 0, "error", "Daily.")


# --- the decision ------------------------------------------------------------------------------------


def test_fresh_sources_pass_up_to_their_limit():
    report = judge(D, {"usage_events": (OLDEST, day("2025-01-29")), "support_tickets": (OLDEST, day("2025-02-03"))},
                   {"usage_events": USAGE, "support_tickets": TICKETS})
    assert [(s.source, s.status, s.days_behind) for s in report.sources] == [
        ("usage_events", "pass", 2), ("support_tickets", "pass", -3)]  # exactly the limit; data past the as-of
    assert report.refusal() is None and report.warnings() == [] and report.as_of_problem is None


def test_a_stale_error_source_refuses_the_run_naming_it_and_its_newest_date():
    report = judge(D, {"usage_events": (OLDEST, day("2025-01-20"))}, {"usage_events": USAGE}, loosest=31)
    assert report.sources[0].status == "error"
    assert report.refusal() == (
        "source usage_events is stale: newest record 2025-01-20, 11 days before the as-of date 2025-01-31 "
        "(max_staleness_days 2); pass --allow-stale to build anyway")


def test_a_stale_warn_source_is_a_warning_and_the_run_goes_on():
    report = judge(D, {"usage_events": (OLDEST, D), "support_tickets": (OLDEST, day("2025-01-27"))},
                   {"usage_events": USAGE, "support_tickets": TICKETS})
    assert report.refusal() is None
    assert report.warnings() == ["source support_tickets is stale: newest record 2025-01-27, 4 days before the "
                                 "as-of date 2025-01-31 (max_staleness_days 3)"]
    assert report.as_dict()["sources"][1] == {
        "source": "support_tickets", "column": "created_date", "oldest": "2023-03-14", "newest": "2025-01-27",
        "days_behind": 4, "max_staleness_days": 3, "severity": "warn", "status": "warn",
        "message": report.warnings()[0]}


def test_several_stale_sources_are_one_refusal():
    report = judge(D, {"usage_events": (OLDEST, day("2025-01-28")), "invoices": (OLDEST, day("2025-01-23"))},
                   {"usage_events": USAGE, "invoices": Freshness("invoice_date", 7, "error")}, loosest=31)
    assert report.refusal() == (
        "source usage_events is stale: newest record 2025-01-28, 3 days before the as-of date 2025-01-31 "
        "(max_staleness_days 2); source invoices is stale: newest record 2025-01-23, 8 days before the as-of "
        "date 2025-01-31 (max_staleness_days 7); pass --allow-stale to build anyway")


def test_allow_stale_turns_the_refusal_into_warnings():
    report = judge(D, {"usage_events": (OLDEST, day("2025-01-20"))}, {"usage_events": USAGE}, allow_stale=True,
                   loosest=31)
    assert report.refusal() is None and report.sources[0].status == "warn"
    assert report.warnings() == ["source usage_events is stale: newest record 2025-01-20, 11 days before the as-of "
                                 "date 2025-01-31 (max_staleness_days 2) (building anyway: --allow-stale)"]
    assert report.as_dict()["allow_stale"] is True


def test_an_as_of_date_after_all_the_data_is_refused_whatever_the_severities():
    bounds = {"support_tickets": (OLDEST, D)}  # a warn source only: stale, and far beyond the data
    report = judge(day("2030-01-01"), bounds, {"support_tickets": TICKETS}, loosest=31)
    assert report.refusal() == (
        "the as-of date 2030-01-01 is after the data: the newest record of any source checked is 2025-01-31 "
        "(support_tickets), 1796 days before it, more than any source's max_staleness_days (at most 31); "
        "pass --allow-stale to build anyway")
    # Within the loosest limit it is the source's own severity that counts: a warning.
    assert judge(day("2025-02-04"), bounds, {"support_tickets": TICKETS}, loosest=31).refusal() is None
    allowed = judge(day("2030-01-01"), bounds, {"support_tickets": TICKETS}, allow_stale=True, loosest=31)
    assert allowed.refusal() is None and allowed.warnings()[0].startswith("the as-of date 2030-01-01 is after")


def test_an_as_of_date_before_all_the_data_is_refused():
    bounds = {"usage_events": (OLDEST, D), "support_tickets": (day("2023-02-08"), D)}
    report = judge(day("2023-01-01"), bounds, {"usage_events": USAGE, "support_tickets": TICKETS})
    assert report.refusal() == ("the as-of date 2023-01-01 is before the data: the oldest record of any source "
                                "checked is 2023-02-08 (support_tickets); pass --allow-stale to build anyway")
    assert judge(day("2023-02-08"), bounds, {"usage_events": USAGE, "support_tickets": TICKETS}).refusal() is None


def test_a_source_without_records_is_a_warning_not_a_refusal():
    report = judge(D, {"usage_events": (None, None)}, {"usage_events": USAGE})
    assert report.refusal() is None and report.as_of_problem is None
    assert report.warnings() == ["source usage_events has no records: its freshness cannot be judged"]


# --- the dates, from frames ---------------------------------------------------------------------------


def test_date_bounds_reads_dates_and_timestamps_of_every_frame_in_one_job(spark):
    events = spark.createDataFrame([(day("2025-01-02"),), (day("2024-12-30"),), (None,)], "event_date date")
    tickets = spark.createDataFrame([(dt.datetime(2025, 1, 3, 23, 59),)], "created_at timestamp")
    empty = spark.createDataFrame([], "invoice_date date")
    bounds = date_bounds({"e": (events, "event_date"), "t": (tickets, "created_at"), "i": (empty, "invoice_date")})
    assert bounds == {"e": (day("2024-12-30"), day("2025-01-02")), "t": (day("2025-01-03"), day("2025-01-03")),
                      "i": (None, None)}
    assert latest_date(bounds) == day("2025-01-03") and latest_date(bounds, ["e", "i"]) == day("2025-01-02")
    assert date_bounds({}) == {} and latest_date({"i": (None, None)}) is None


def frames(spark, usage_newest: str, tickets_newest: str, signup: str = "2024-06-01") -> dict:
    """Staging tables of the run: accounts, invoices, usage and tickets with one or two rows each."""
    def dates(column: str, *days: str):
        return spark.createDataFrame([(day(d),) for d in days], f"{column} date")

    return {
        "stg_accounts": dates("signup_date", "2023-01-09", signup),
        "stg_invoices": dates("invoice_date", "2023-02-01", "2025-01-30"),
        "stg_usage_events": dates("event_date", "2023-03-14", usage_newest),
        "stg_support_tickets": dates("created_date", "2023-02-08", tickets_newest),
        "stg_subscriptions": dates("start_date", "2023-01-09", "2025-01-28"),
    }


def plan_for(select: list[str], as_of_given: bool) -> SourcePlan | None:
    models = all_models()
    return SourcePlan.of(select_models(models, "all", select), models, default_contracts(), as_of_given)


def test_the_sources_checked_are_those_the_selection_builds_or_reads():
    assert set(plan_for(["stg_accounts", "stg_invoices"], True).limits) == {"stg_invoices"}
    assert set(plan_for(["nrr_summary"], True).limits) == {"stg_invoices"}  # through fct_revenue
    assert set(plan_for(["churn_risk_view"], True).limits) == {
        "stg_invoices", "stg_subscriptions", "stg_support_tickets", "stg_usage_events"}
    assert plan_for(["stg_accounts"], True) is None  # no limit on accounts
    assert plan_for(["stg_invoices"], False) is None  # staging only, no as-of date: nothing to judge against
    assert plan_for(["fct_revenue"], False).derive == ("stg_accounts", "stg_invoices", "stg_usage_events",
                                                       "stg_support_tickets")


def test_the_node_comes_after_the_staging_models_and_core_waits_for_it_only_to_derive_the_as_of_date():
    nodes = [Node("stg_accounts"), Node("stg_invoices", needs={"stg_accounts"}),
             Node("fct_revenue", needs={"stg_accounts", "stg_invoices"})]
    given = plan_for(["stg_accounts", "stg_invoices", "fct_revenue"], True).placed(nodes)
    assert [n.name for n in given] == ["stg_accounts", "stg_invoices", NODE, "fct_revenue"]
    assert given[2].after == {"stg_invoices"} and given[3].after == frozenset()
    derived = plan_for(["stg_accounts", "stg_invoices", "fct_revenue"], False).placed(nodes)
    assert derived[2].after == {"stg_accounts", "stg_invoices"} and derived[3].after == {NODE}


def test_the_check_derives_the_as_of_date_and_a_lagging_source_is_stale(spark):
    tables = frames(spark, usage_newest="2025-01-25", tickets_newest="2025-01-31")
    lines: list[str] = []
    with pytest.raises(StaleDataError, match="^source usage_events is stale: newest record 2025-01-25, 6 days "
                                             "before the as-of date 2025-01-31 "):
        check_sources(plan_for(["fct_usage", "fct_tickets"], False), tables.get, None, False, lines.append)
    assert lines == ["as_of_date not set: using 2025-01-31 (latest date in the data)"]

    as_of, report = check_sources(plan_for(["fct_usage", "fct_tickets"], False), tables.get, None, True, lines.append)
    assert as_of == D
    assert [(s.source, s.status) for s in report.sources] == [("support_tickets", "pass"), ("usage_events", "warn")]
    assert lines[-1].startswith("WARN source usage_events is stale") and lines[-1].endswith("--allow-stale)")


def test_the_check_judges_a_given_as_of_date_and_skips_a_table_the_run_failed_to_build(spark):
    tables = frames(spark, usage_newest="2025-01-31", tickets_newest="2025-01-27")
    lines: list[str] = []
    plan = plan_for(["stg_accounts", "stg_usage_events", "stg_support_tickets"], True)
    as_of, report = check_sources(plan, tables.get, D, False, lines.append)
    assert as_of == D and lines == ["WARN source support_tickets is stale: newest record 2025-01-27, 4 days before "
                                    "the as-of date 2025-01-31 (max_staleness_days 3)"]
    failed = {**tables, "stg_support_tickets": None}
    _, report = check_sources(plan, failed.get, D, False, lines.append)
    assert [s.source for s in report.sources] == ["usage_events"]
    with pytest.raises(StaleDataError, match="^the as-of date 2030-01-01 is after the data"):
        check_sources(plan, tables.get, day("2030-01-01"), False, lines.append)


def test_no_dates_at_all_cannot_give_an_as_of_date(spark):
    empty = {name: df.limit(0) for name, df in frames(spark, "2025-01-31", "2025-01-31").items()}
    with pytest.raises(NovaCrmError, match="cannot derive as_of_date: the staging tables hold no dates"):
        check_sources(plan_for(["fct_usage"], False), empty.get, None, False, print)
