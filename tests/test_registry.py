"""The model registry: DAG order, selection, and the signature contract of every model."""

import inspect

import pytest

from novacrm_spark.errors import SelectionError
from novacrm_spark.registry import (
    LAYER_ORDER,
    RAW_INPUTS,
    RUN_VALUES,
    Model,
    all_models,
    select_models,
    topological_order,
)


def fake(name, layer, inputs):
    return Model(name=name, layer=layer, inputs=tuple(inputs), key=("k",), build=lambda *a: None, description="")


@pytest.fixture
def graph():
    models = [
        fake("stg_a", "staging", ["raw_accounts"]),
        fake("stg_b", "staging", ["raw_invoices", "stg_a"]),
        fake("dim_a", "core", ["stg_a", "stg_b"]),
        fake("fct_b", "core", ["stg_b"]),
        fake("mart_x", "marts", ["dim_a"]),
        fake("mart_y", "marts", ["mart_x", "fct_b"]),
    ]
    return {m.name: m for m in models}


def names(models):
    return [m.name for m in models]


def test_topological_order_puts_inputs_first_deterministically(graph):
    assert names(topological_order(graph)) == ["stg_a", "stg_b", "dim_a", "fct_b", "mart_x", "mart_y"]


def test_select_by_layer(graph):
    assert names(select_models(graph, "core")) == ["dim_a", "fct_b"]


def test_select_a_model_and_its_downstream(graph):
    assert names(select_models(graph, "all", ["stg_b+"])) == ["stg_b", "dim_a", "fct_b", "mart_x", "mart_y"]
    assert names(select_models(graph, "all", ["mart_x"])) == ["mart_x"]
    assert names(select_models(graph, "marts", ["dim_a+"])) == ["mart_x", "mart_y"]


def test_unknown_selection_is_a_clear_error(graph):
    with pytest.raises(SelectionError, match="no model named 'nope'"):
        select_models(graph, "all", ["nope+"])
    with pytest.raises(SelectionError, match="--layer"):
        select_models(graph, "gold")


def test_cycles_are_reported(graph):
    graph["stg_a"] = fake("stg_a", "staging", ["mart_y"])
    with pytest.raises(ValueError, match="cycle"):
        topological_order(graph)


def test_the_real_registry_has_the_sixteen_tables():
    models = all_models()
    by_layer = {layer: sorted(n for n, m in models.items() if m.layer == layer) for layer in LAYER_ORDER}
    assert by_layer == {
        "staging": ["stg_accounts", "stg_invoices", "stg_subscriptions", "stg_support_tickets", "stg_usage_events"],
        "core": ["dim_account", "dim_date", "dim_product", "fct_revenue", "fct_tickets", "fct_usage"],
        "marts": [
            "churn_risk_view",
            "customer_health_scores",
            "nrr_summary",
            "revenue_cohort_analysis",
            "sla_adherence",
        ],
    }


@pytest.mark.parametrize("name", sorted(all_models()))
def test_every_model_signature_matches_its_declaration(name):
    m = all_models()[name]
    params = inspect.signature(m.build).parameters.values()
    positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == list(m.inputs), "positional parameters must be the declared inputs, in order"
    assert set(m.run_values) <= set(RUN_VALUES)
    assert m.key, "every model declares its key"
    assert m.description, "every model has a docstring description"


@pytest.mark.parametrize("name", sorted(all_models()))
def test_layers_only_read_upstream(name):
    m = all_models()[name]
    models = all_models()
    for source in m.inputs:
        if source in RAW_INPUTS:
            assert m.layer == "staging", "only staging reads raw files"
        else:
            assert LAYER_ORDER.index(models[source].layer) <= LAYER_ORDER.index(m.layer)
            if m.layer == "core":
                assert models[source].layer == "staging", "core reads staging only"
