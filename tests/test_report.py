"""The report: charts from hand-built mart frames, empty states, headline numbers, run info, the page.

The last tests build the report from the marts of the bundled sample and check
that every chart carries the marts' data.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from plotly.offline import get_plotlyjs

from novacrm_spark.cli import main
from novacrm_spark.errors import ReportError
from novacrm_spark.report import charts
from novacrm_spark.report.charts.style import RISK_COLORS, TIER_COLORS, money, number, pct
from novacrm_spark.report.data import MARTS, ReportData, RunInfo, latest_recorded_run, latest_run, load_report_data
from novacrm_spark.report.headline import headlines
from novacrm_spark.report.page import build_figures, render_report
from novacrm_spark.report.sections import SECTIONS

# --- hand-built marts (only the columns the charts read) -----------------------------------------

HEALTH_COLUMNS = [
    "account_id", "company_name", "account_segment", "account_owner", "current_arr", "health_score", "health_tier",
    "usage_score", "support_score", "revenue_score", "engagement_score", "avg_daily_events_30d",
    "open_tickets_30d", "avg_csat_30d", "latest_mrr_change", "intervention_priority",
]
CHURN_COLUMNS = ["account_id", "account_segment", "account_owner", "current_arr", "risk_level"]
NRR_COLUMNS = [
    "revenue_month", "starting_mrr", "new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr",
    "churned_mrr", "ending_mrr", "paying_accounts", "nrr_pct", "grr_pct", "ending_arr",
]
COHORT_COLUMNS = ["cohort_label", "period_number", "account_retention_pct", "revenue_retention_pct"]
SLA_COLUMNS = [
    "ticket_year_month", "dimension_type", "dimension_value", "resolved_tickets", "within_sla",
    "sla_adherence_pct", "median_resolution_hours", "p90_resolution_hours", "avg_csat",
]


def health_row(i, tier, score, segment="smb", owner="Ann", arr=1200.0, priority=None):
    return (f"A{i:03d}", f"Company {i}", segment, owner, arr, score, tier, 25, 50, 60, 0, 1.5, 1, 4.0, -10.0,
            priority if priority is not None else i)


def health_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=HEALTH_COLUMNS)


def nrr_frame() -> pd.DataFrame:
    # Two months; the ledger invariant holds: ending = starting + new + react + exp - contr - churn.
    return pd.DataFrame(
        [
            (dt.date(2024, 12, 1), 0.0, 1000.0, 0.0, 0.0, 0.0, 0.0, 1000.0, 10, None, None, 12000.0),
            (dt.date(2025, 1, 1), 1000.0, 200.0, 50.0, 100.0, 30.0, 70.0, 1250.0, 11, 100.0, 90.0, 15000.0),
        ],
        columns=NRR_COLUMNS,
    )


def sla_frame() -> pd.DataFrame:
    rows = [
        # month, type, value, resolved, within, pct, median, p90, csat
        ("2024-12", "priority", "p1", 1, 1, 100.0, 2.0, 3.0, 4.0),
        ("2024-12", "priority", "p4", 9, 0, 0.0, 200.0, 300.0, 3.0),
        ("2025-01", "priority", "p2", 4, 3, 75.0, 10.0, 14.0, 4.5),
        ("2024-12", "segment", "smb", 10, 1, 10.0, 150.0, 290.0, 3.1),
        ("2025-01", "segment", "enterprise", 4, 3, 75.0, 10.0, 14.0, 4.5),
    ]
    return pd.DataFrame(rows, columns=SLA_COLUMNS)


def empty_marts() -> dict[str, pd.DataFrame]:
    columns = {
        "customer_health_scores": HEALTH_COLUMNS, "churn_risk_view": CHURN_COLUMNS, "nrr_summary": NRR_COLUMNS,
        "revenue_cohort_analysis": COHORT_COLUMNS, "sla_adherence": SLA_COLUMNS,
    }
    return {name: pd.DataFrame(columns=cols) for name, cols in columns.items()}


def is_no_data(fig) -> bool:
    return not fig.data and [a.text for a in fig.layout.annotations] == ["no data"]


# --- formats ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(12345.0, "$12.3k"), (950, "$950"), (-149.0, "-$149"), (999_960, "$1.0M"), (2_500_000, "$2.5M"),
     (None, "–"), (float("nan"), "–")],
)
def test_money_is_compact_with_a_dollar_sign(value, expected):
    assert money(value) == expected


def test_percentages_and_numbers():
    assert pct(94.04) == "94.0%"
    assert pct(None) == "–"
    assert number(1234.5, 1) == "1,234.5"


# --- charts -----------------------------------------------------------------------------------------


def test_tier_chart_counts_accounts_and_sums_arr_per_tier_in_tier_order():
    health = health_frame([health_row(1, "critical", 10, arr=100), health_row(2, "critical", 12, arr=50),
                           health_row(3, "champion", 90, arr=1000)])
    fig = charts.tier_accounts_arr(health)
    accounts, arr = fig.data
    assert list(accounts.x) == ["Champion", "Healthy", "Neutral", "At risk", "Critical"]
    assert list(accounts.y) == [1, 0, 0, 0, 2]  # empty tiers stay, as zero bars
    assert list(arr.y) == [1000, 0, 0, 0, 150]
    assert list(arr.text) == ["$1.0k", "$0", "$0", "$0", "$150"]
    tiers = ("champion", "healthy", "neutral", "at_risk", "critical")
    assert list(accounts.marker.color) == [TIER_COLORS[t] for t in tiers]
    assert fig.layout.yaxis2.tickprefix == "$"


def test_score_distribution_has_one_trace_per_present_tier_in_its_colour():
    health = health_frame([health_row(1, "critical", 10), health_row(2, "healthy", 65), health_row(3, "healthy", 70)])
    fig = charts.score_distribution(health)
    assert [(t.name, t.marker.color, list(t.x)) for t in fig.data] == [
        ("Healthy", TIER_COLORS["healthy"], [65, 70]), ("Critical", TIER_COLORS["critical"], [10])]
    assert fig.layout.xaxis.title.text == "Health score (0–100)"


def test_components_by_segment_plots_the_mean_of_each_score():
    health = health_frame([health_row(1, "neutral", 40, segment="enterprise"), health_row(2, "neutral", 50,
                                                                                            segment="enterprise")])
    health.loc[1, "usage_score"] = 75
    fig = charts.components_by_segment(health)
    usage = next(t for t in fig.data if t.name == "Usage")
    overall = next(t for t in fig.data if t.name == "Health score")
    assert list(usage.x) == ["Enterprise"] and list(usage.y) == [50.0]
    assert list(overall.y) == [45.0]


def test_risk_by_owner_stacks_levels_and_puts_the_most_urgent_owner_first():
    churn = pd.DataFrame(
        [("A1", "smb", "Ann", 1.0, "low"), ("A2", "smb", "Bob", 1.0, "critical"), ("A3", "smb", "Bob", 1.0, "high"),
         ("A4", "smb", "Ann", 1.0, "low")],
        columns=CHURN_COLUMNS,
    )
    fig = charts.risk_by(churn, "account_owner")
    by_level = {t.name: (list(t.x), list(t.y), t.marker.color) for t in fig.data}
    assert by_level["Low"] == (["Bob", "Ann"], [0, 2], RISK_COLORS["low"])
    assert by_level["Critical"] == (["Bob", "Ann"], [1, 0], RISK_COLORS["critical"])
    assert fig.layout.barmode == "stack"


def test_intervention_table_lists_the_20_most_urgent_accounts_with_their_risk_level():
    rows = [health_row(i, "at_risk", 30, priority=26 - i) for i in range(1, 26)]  # A025 is priority 1
    churn = pd.DataFrame([("A025", "smb", "Ann", 1.0, "critical")], columns=CHURN_COLUMNS)
    fig = charts.intervention_table(health_frame(rows), churn)
    cells = fig.data[0].cells.values
    assert list(cells[0]) == [str(p) for p in range(1, 21)]
    assert cells[1][0] == "Company 25" and cells[6][0] == "Critical"
    assert cells[6][1] == "–"  # no churn row for that account
    assert fig.data[0].cells.fill.color[6][0] == RISK_COLORS["critical"]
    assert cells[7][0] == "$1.2k"


def test_mrr_movements_draws_losses_below_zero_and_the_net_change():
    fig = charts.mrr_movements(nrr_frame())
    by_name = {t.name: list(t.y) for t in fig.data}
    assert by_name["New"] == [1000, 200]
    assert by_name["Contraction"] == [0, -30] and by_name["Churn"] == [0, -70]
    assert by_name["Net change"] == [1000, 250]
    assert fig.layout.barmode == "relative"


def test_waterfall_shows_the_latest_month_and_every_month_in_its_menu():
    fig = charts.mrr_waterfall(nrr_frame())
    trace = fig.data[0]
    assert list(trace.x) == ["Starting MRR", "New", "Reactivation", "Expansion", "Contraction", "Churn", "Ending MRR"]
    assert list(trace.y) == [1000, 200, 50, 100, -30, -70, 1250]
    assert fig.layout.title.text == "MRR waterfall, Jan 2025"
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["Dec 2024", "Jan 2025"]
    assert buttons[0].args[0]["y"] == [[0, 1000, 0, 0, 0, 0, 1000]]
    assert fig.layout.updatemenus[0].active == 1


def test_retention_chart_has_nrr_grr_and_a_100_percent_line():
    fig = charts.retention_rates(nrr_frame())
    assert [t.name for t in fig.data] == ["NRR", "GRR"]
    assert list(fig.data[1].y)[1] == 90.0 and math.isnan(list(fig.data[1].y)[0])  # no base: a gap
    assert [s.y0 for s in fig.layout.shapes] == [100]
    assert fig.layout.yaxis.ticksuffix == "%"


def test_ending_arr_by_month():
    fig = charts.ending_arr(nrr_frame())
    assert list(fig.data[0].y) == [12000, 15000]
    assert fig.layout.yaxis.tickprefix == "$"


def test_cohort_heatmap_is_cohort_by_period_with_gaps_where_a_cohort_is_too_young():
    cohorts = pd.DataFrame(
        [("2024-11", 0, 100.0, 100.0), ("2024-11", 1, 50.0, 80.0), ("2024-12", 0, 100.0, 100.0)],
        columns=COHORT_COLUMNS,
    )
    fig = charts.cohort_heatmap(cohorts, "revenue")
    heat = fig.data[0]
    assert list(heat.y) == ["2024-11", "2024-12"] and list(heat.x) == [0, 1]
    assert heat.z[0][1] == 80.0 and math.isnan(heat.z[1][1])
    assert fig.layout.title.text == "Cohort revenue retention"


def test_sla_overall_line_is_recomputed_from_counts_not_averaged():
    fig = charts.sla_by(sla_frame(), "priority")
    overall = next(t for t in fig.data if t.name == "All tickets")
    # Dec 2024: (1 + 0) of (1 + 9) resolved = 10%, where the mean of 100% and 0% would say 50%.
    assert list(overall.y) == [10.0, 75.0]
    assert [t.name for t in fig.data] == ["P1", "P2", "P4", "All tickets"]


def test_sla_by_segment_resolution_hours_and_csat():
    sla = sla_frame()
    segment = charts.sla_by(sla, "segment")
    assert [t.name for t in segment.data] == ["Enterprise", "SMB"]
    hours = charts.resolution_hours(sla)
    assert len(hours.data) == 6  # 3 priorities x (median, p90)
    assert hours.layout.yaxis.type == "log" and hours.layout.yaxis2.type == "log"
    assert list(hours.data[-1].y) == [300.0]  # p90 of p4
    assert sorted({s.y0 for s in hours.layout.shapes}) == [4, 12, 120]  # SLA targets of p1, p2, p4
    csat = charts.csat_trend(sla)
    assert [list(t.y) for t in csat.data] == [[4.5], [3.1]]


@pytest.mark.parametrize("chart", [c for s in SECTIONS for c in s.charts], ids=lambda c: c.id)
@pytest.mark.parametrize("marts", [empty_marts(), {}], ids=["empty tables", "no tables"])
def test_every_chart_says_no_data_when_its_mart_is_empty(chart, marts):
    fig = chart.build(marts)
    assert is_no_data(fig)
    assert fig.layout.title.text  # the title stays, so the reader knows what is missing


# --- headline numbers -----------------------------------------------------------------------------


def test_headlines_come_from_the_latest_month_and_the_risk_levels():
    churn = pd.DataFrame(
        [("A1", "smb", "Ann", 1000.0, "high"), ("A2", "smb", "Ann", 500.0, "critical"),
         ("A3", "smb", "Ann", 9.0, "medium")],
        columns=CHURN_COLUMNS,
    )
    numbers = {h.label: h for h in headlines({"nrr_summary": nrr_frame(), "churn_risk_view": churn,
                                              "sla_adherence": sla_frame()})}
    assert numbers["ARR"].value == "$15.0k" and "Jan 2025" in numbers["ARR"].detail
    assert numbers["NRR"].value == "100.0%" and numbers["GRR"].value == "90.0%"
    assert numbers["High/critical churn risk"].value == "2"
    assert numbers["High/critical churn risk"].detail == "of 3 active accounts, $1.5k ARR"
    assert numbers["SLA adherence"].value == "75.0%"
    assert numbers["SLA adherence"].detail == "3 of 4 resolved tickets, Jan 2025"


def test_headlines_say_no_data_for_empty_marts():
    assert {h.value for h in headlines(empty_marts())} == {"no data"}


# --- run info -----------------------------------------------------------------------------------------


def write_run(warehouse, run_id, as_of, models):
    folder = warehouse / "_runs" / run_id
    folder.mkdir(parents=True)
    (folder / "run_results.json").write_text(json.dumps({"run_id": run_id, "as_of_date": as_of, "models": models}))


def test_latest_run_is_the_latest_one_that_published_marts(tmp_path):
    mart = [{"name": "nrr_summary", "layer": "marts", "version": 3}]
    write_run(tmp_path, "20250201T060000-aaaa", "2025-01-31", mart)
    write_run(tmp_path, "20250202T060000-bbbb", "2025-02-01", mart)
    write_run(tmp_path, "20250203T060000-cccc", None, [{"name": "stg_accounts", "layer": "staging", "version": 9}])
    (tmp_path / "_runs" / "20250204T060000-dddd").mkdir()
    (tmp_path / "_runs" / "20250204T060000-dddd" / "run_results.json").write_text("{not json")
    assert latest_run(str(tmp_path)) == RunInfo("20250202T060000-bbbb", "2025-02-01")


def test_latest_run_is_unknown_without_run_results(tmp_path):
    assert latest_run(str(tmp_path)) == RunInfo("unknown", "unknown")
    assert latest_run("s3://bucket/warehouse") == RunInfo("unknown", "unknown")


def test_on_object_storage_the_latest_run_comes_from_the_run_results_table(spark, tmp_path):
    from novacrm_spark.run.records import record_results
    from novacrm_spark.run.results import ModelResult, RunResult
    from novacrm_spark.store import open_store
    from novacrm_spark.store.manifest import PublishedTables

    store = open_store(spark, str(tmp_path / "wh"), "embedded")
    published = PublishedTables(store)
    assert latest_recorded_run(published) == RunInfo("unknown", "unknown")
    for run_id, as_of, layer in (("20250201T060000-aaaa", dt.date(2025, 1, 31), "marts"),
                                 ("20250202T060000-bbbb", dt.date(2025, 2, 1), "marts"),
                                 ("20250203T060000-cccc", None, "staging")):  # published no mart
        model = ModelResult("nrr_summary" if layer == "marts" else "stg_accounts", layer, "pass", rows=1, version=3)
        record_results(store, RunResult(run_id, as_of, "embedded", [model]), print)
    assert latest_recorded_run(published) == RunInfo("20250202T060000-bbbb", "2025-02-01")


class NoTables:
    warehouse = "/nowhere"

    def exists(self, layer, table):
        return table == "nrr_summary"

    def version(self, layer, table):  # readers ask the version the run manifest pins (none here)
        return 0 if self.exists(layer, table) else None


def test_missing_marts_are_named_in_the_error():
    with pytest.raises(ReportError) as error:
        load_report_data(NoTables())
    message = str(error.value)
    assert "marts.customer_health_scores" in message and "marts.sla_adherence" in message
    assert "marts.nrr_summary" not in message and "/nowhere" in message and "novacrm run" in message


# --- the page --------------------------------------------------------------------------------------------


def plotted(page: str) -> dict[str, tuple[list, dict]]:
    """Each chart's (data, layout) as inlined in the page, by chart id."""
    decoder = json.JSONDecoder()
    found = {}
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        data, end = decoder.raw_decode(page, match.end())
        layout, _ = decoder.raw_decode(page, re.compile(r",\s*").match(page, end).end())
        found[match.group(1)] = (data, layout)
    return found


def test_empty_report_has_three_sections_plotly_once_and_no_data_everywhere():
    page = render_report(ReportData(marts=empty_marts()))
    for section in SECTIONS:
        assert f'<section id="{section.id}"' in page and section.title in page
    assert page.count(get_plotlyjs()[:200]) == 1  # the library is inlined exactly once
    charts_on_page = plotted(page)
    assert list(charts_on_page) == [c.id for s in SECTIONS for c in s.charts]
    assert all(layout["annotations"][0]["text"] == "no data" for _, layout in charts_on_page.values())
    assert 'id="as-of-date">unknown<' in page and 'id="run-id">unknown<' in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)  # nothing loaded from elsewhere


def test_cli_report_fails_with_one_line_when_marts_are_missing(spark, tmp_path):
    result = CliRunner().invoke(main, ["report", "--warehouse", str(tmp_path), "--master", "local[2]",
                                       "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "marts.customer_health_scores" in result.output and "not published" in result.output
    assert not (tmp_path / "r.html").exists()


# --- from the bundled sample -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_report(spark, built_warehouse, tmp_path_factory):
    """`novacrm report` on the warehouse built from data/raw: (page text, marts as pandas, run_results)."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(main, ["report", "--warehouse", str(built_warehouse), "--master", "local[2]",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    from novacrm_spark.store import open_store

    data = load_report_data(open_store(spark, str(built_warehouse), "embedded"))
    (run_file,) = (built_warehouse / "_runs").glob("*/run_results.json")
    return out.read_text(encoding="utf-8"), data, json.loads(run_file.read_text())


def test_sample_report_has_the_run_and_three_sections(sample_report):
    page, _, run = sample_report
    assert f'id="as-of-date">{run["as_of_date"]}<' in page and f'id="run-id">{run["run_id"]}<' in page
    assert run["as_of_date"] == "2025-01-31"
    for title in ("Customer Health Overview", "Revenue Intelligence", "Support Performance"):
        assert f"<h2>{title}</h2>" in page


def test_sample_report_has_every_charts_data(sample_report):
    page, data, _ = sample_report
    charts_on_page = plotted(page)
    assert list(charts_on_page) == [c.id for s in SECTIONS for c in s.charts]
    for chart_id, (traces, layout) in charts_on_page.items():
        assert traces, f"{chart_id} has no traces"
        assert "no data" not in json.dumps(layout.get("annotations", [])), f"{chart_id} says no data"
    marts = data.marts
    # The page's numbers are the marts' numbers: spot-check one chart per mart.
    table = charts_on_page["health-priority"][0][0]["cells"]["values"]
    top = marts["customer_health_scores"].sort_values("intervention_priority").head(20)
    assert table[1] == list(top["company_name"])
    buttons = charts_on_page["revenue-waterfall"][1]["updatemenus"][0]["buttons"]
    assert len(buttons) == len(marts["nrr_summary"])
    heat = charts_on_page["revenue-cohort-accounts"][0][0]
    assert heat["y"] == sorted(marts["revenue_cohort_analysis"]["cohort_label"].unique())
    owners = {x for trace in charts_on_page["health-risk-owner"][0] for x in trace["x"]}
    assert owners == set(marts["churn_risk_view"]["account_owner"])
    sla_lines = {t["name"] for t in charts_on_page["support-sla-priority"][0]}
    assert sla_lines == {"P1", "P2", "P3", "P4", "All tickets"}


def test_sample_headlines_match_the_marts(sample_report):
    page, data, _ = sample_report
    nrr = data.marts["nrr_summary"].sort_values("revenue_month").iloc[-1]
    churn = data.marts["churn_risk_view"]
    at_risk = int(churn["risk_level"].isin(["high", "critical"]).sum())
    assert f'<div class="kpi-value">{money(nrr["ending_arr"])}</div>' in page
    assert f'<div class="kpi-value">{pct(nrr["nrr_pct"])}</div>' in page
    assert f'data-kpi="High/critical churn risk"><div class="kpi-label">High/critical churn risk</div>' \
           f'<div class="kpi-value">{at_risk}</div>' in page
    assert len(build_figures(data.marts)) == sum(len(s.charts) for s in SECTIONS)
    assert set(MARTS) == set(data.marts)
