"""Selection in dbt's syntax (NAME, +NAME, NAME+, +NAME+, A,B, --exclude) on the real model graph, without Spark.

The expected sets are worked out by hand from each model's inputs (its
function's positional parameters), e.g. fct_usage(stg_accounts, stg_usage_events)
and stg_usage_events(raw_usage_events, stg_accounts).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from novacrm_spark.errors import SelectionError
from novacrm_spark.selection import ModelNode, model_graph, resolve, upstream

ROOT = Path(__file__).resolve().parents[1]
STAGING = ["stg_accounts", "stg_invoices", "stg_subscriptions", "stg_support_tickets", "stg_usage_events"]
CORE = ["dim_account", "dim_date", "dim_product", "fct_revenue", "fct_tickets", "fct_usage"]
MARTS = ["customer_health_scores", "churn_risk_view", "nrr_summary", "revenue_cohort_analysis", "sla_adherence"]
REVENUE_DOWNSTREAM = ["fct_revenue", "customer_health_scores", "churn_risk_view", "nrr_summary",
                      "revenue_cohort_analysis"]


def select(*selectors: str, exclude: tuple[str, ...] = (), layer: str = "all") -> list[str]:
    return resolve(model_graph(), layer, list(selectors), list(exclude))


def test_the_graph_read_from_source_is_the_registrys():
    from novacrm_spark.registry import all_models, topological_order

    registry = {n: (m.layer, m.inputs, m.model_inputs) for n, m in all_models().items()}
    static = {n: (m.layer, m.inputs, m.model_inputs) for n, m in model_graph().items()}
    assert static == registry
    assert resolve(model_graph()) == [m.name for m in topological_order(all_models())]


def test_no_selector_is_every_model_in_build_order():
    assert select() == STAGING + CORE + MARTS
    assert select(layer="core") == CORE


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["fct_usage"], ["fct_usage"]),
        (["+fct_usage"], ["stg_accounts", "stg_usage_events", "fct_usage"]),
        (["+nrr_summary"], ["stg_accounts", "stg_invoices", "fct_revenue", "nrr_summary"]),
        (["+sla_adherence"], ["stg_accounts", "stg_subscriptions", "stg_support_tickets", "dim_account",
                              "fct_tickets", "sla_adherence"]),
        (["fct_revenue+"], REVENUE_DOWNSTREAM),
        (["+fct_revenue+"], ["stg_accounts", "stg_invoices", *REVENUE_DOWNSTREAM]),
        (["fct_usage+"], ["fct_usage", "customer_health_scores", "churn_risk_view"]),
        (["stg_subscriptions+"], ["stg_subscriptions", "dim_account", "dim_date", "dim_product",
                                  "customer_health_scores", "churn_risk_view", "revenue_cohort_analysis",
                                  "sla_adherence"]),
        # everything churn_risk_view reads, directly or through customer_health_scores
        (["+churn_risk_view"], [*STAGING, "dim_account", "fct_revenue", "fct_tickets", "fct_usage",
                                "customer_health_scores", "churn_risk_view"]),
    ],
)
def test_graph_operators(selectors, expected):
    assert select(*selectors) == expected


def test_several_selectors_add_up_whether_repeated_or_space_separated():
    expected = ["stg_invoices", "dim_date", "nrr_summary"]
    assert select("nrr_summary", "stg_invoices", "dim_date") == expected
    assert select("nrr_summary stg_invoices", " dim_date ") == expected


def test_a_layer_name_selects_its_models_and_takes_the_operators():
    assert select("marts") == MARTS
    assert select("+marts") == STAGING + [c for c in CORE if c not in ("dim_date", "dim_product")] + MARTS
    assert select("staging+") == STAGING + CORE + MARTS


def test_a_comma_intersects_as_in_dbt():
    assert select("fct_usage+,marts") == ["customer_health_scores", "churn_risk_view"]
    assert select("+nrr_summary,staging") == ["stg_accounts", "stg_invoices"]
    assert select("nrr_summary,sla_adherence") == []


def test_exclude_removes_what_it_selects():
    assert select("fct_revenue+", exclude=("churn_risk_view",)) == [
        "fct_revenue", "customer_health_scores", "nrr_summary", "revenue_cohort_analysis"]
    assert select("+fct_revenue+", exclude=("staging", "customer_health_scores+")) == [
        "fct_revenue", "nrr_summary", "revenue_cohort_analysis"]
    assert select(exclude=("customer_health_scores+",), layer="marts") == [
        "nrr_summary", "revenue_cohort_analysis", "sla_adherence"]
    assert select(exclude=("+customer_health_scores",), layer="marts") == [  # its upstream holds no mart
        "churn_risk_view", "nrr_summary", "revenue_cohort_analysis", "sla_adherence"]
    assert select(exclude=("staging core",)) == MARTS


def test_a_layer_and_a_selection_both_apply():
    assert select("+sla_adherence", layer="core") == ["dim_account", "fct_tickets"]
    assert select("fct_usage", layer="marts") == []


@pytest.mark.parametrize(
    ("flag", "selector", "message"),
    [
        ("--select", "fct_revnue", "--select 'fct_revnue': no model named 'fct_revnue'; did you mean fct_revenue"),
        ("--exclude", "+nrr_sumary", "--exclude '+nrr_sumary': no model named 'nrr_sumary'; did you mean nrr_summary?"),
        ("--select", "mart", "no model named 'mart'; did you mean marts?"),
        ("--select", "zzzzzz", "no model named 'zzzzzz'; novacrm ls lists the models"),
        ("--select", "fct_usage,nope", "--select 'fct_usage,nope': no model named 'nope'"),
        ("--select", "@fct_usage", "--select '@fct_usage': not a selector; write NAME, +NAME, NAME+ or +NAME+"),
        ("--select", "2+fct_usage", "not a selector"),
        ("--select", "fct_usage,", "--select 'fct_usage,': '' is not a selector"),
        ("--exclude", "", "--exclude '': no selector"),
    ],
)
def test_a_bad_selector_is_one_clear_error(flag, selector, message):
    args = {"select": [selector]} if flag == "--select" else {"exclude": [selector]}
    with pytest.raises(SelectionError) as raised:
        resolve(model_graph(), **args)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_unknown_layer_is_refused():
    with pytest.raises(SelectionError, match="--layer must be one of staging, core, marts, all; got 'gold'"):
        resolve(model_graph(), "gold")


def test_upstream_follows_every_level_and_skips_raw_inputs():
    graph = {m.name: m for m in [
        ModelNode("a", "staging", ("raw_accounts",)),
        ModelNode("b", "staging", ("raw_invoices", "a")),
        ModelNode("c", "core", ("b",)),
        ModelNode("d", "marts", ("c", "a")),
    ]}
    assert upstream(graph, "d") == {"a", "b", "c", "d"}
    assert resolve(graph, select=["+c"]) == ["a", "b", "c"]
    assert resolve(graph, select=["b+"], exclude=["d"]) == ["b", "c"]


def test_the_run_gets_the_registrys_models_for_the_resolved_names():
    from novacrm_spark.run.runner import chosen_models

    names = select("+fct_usage")
    assert [m.name for m in chosen_models(models=names)] == names
    assert [m.name for m in chosen_models(select=["+fct_usage"], exclude=["stg_accounts"])] == names[1:]
    assert chosen_models(models=[]) == []


def test_selection_reads_the_graph_without_importing_pyspark_or_the_models():
    code = (
        "import sys; from novacrm_spark.selection import model_graph, resolve; "
        "print(resolve(model_graph(), select=['+fct_usage'])); "
        "print(sorted(m for m in sys.modules if m.startswith('pyspark') or m.startswith('novacrm_spark.models.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['stg_accounts', 'stg_usage_events', 'fct_usage']",
        "['novacrm_spark.models.core', 'novacrm_spark.models.marts', 'novacrm_spark.models.staging']",
    ]
