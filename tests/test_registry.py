"""The model registry: discovery, DAG order, selection, and the signature contract of every model."""

import ast
import inspect
import types
from pathlib import Path

import pytest

import novacrm_spark.models
from novacrm_spark.errors import SelectionError
from novacrm_spark.model import StagingResult, is_model, model
from novacrm_spark.quality.contracts import default_contracts
from novacrm_spark.registry import (
    LAYER_ORDER,
    RAW_INPUTS,
    RUN_VALUES,
    Model,
    all_models,
    layer_modules,
    layer_of,
    models_in,
    select_models,
    topological_order,
)


def fake(name, layer, inputs):
    return Model(name=name, layer=layer, inputs=tuple(inputs), build=lambda *a: None, description="")


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


def test_the_real_registry_has_the_sixteen_tables_of_the_spec():
    # A subset, not a closed list: a new model is its module, its YAML and its test, and no edit here.
    models = all_models()
    by_layer = {layer: {n for n, m in models.items() if m.layer == layer} for layer in LAYER_ORDER}
    spec = {
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
    assert all(by_layer[layer] >= set(names) for layer, names in spec.items()), by_layer


def test_every_layer_module_defines_one_model_named_after_it():
    # Otherwise a module whose function lost its @model would silently build nothing.
    for layer in LAYER_ORDER:
        for module in layer_modules(layer):
            assert [fn.__name__ for fn in models_in(module)] == [module.__name__.rpartition(".")[2]]


@pytest.mark.parametrize("name", sorted(all_models()))
def test_every_model_is_read_from_its_function(name):
    m = all_models()[name]
    params = inspect.signature(m.build).parameters.values()
    positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == list(m.inputs), "the inputs are the positional parameters, in order"
    assert m.build.__module__ == f"novacrm_spark.models.{m.layer}.{name}", "one module per table, in its layer"
    assert set(m.run_values) <= set(RUN_VALUES)
    assert m.key, "every model's contract has a unique check"
    assert m.key == default_contracts().for_model(name).key()
    assert m.description, "every model has a docstring description"


def test_inputs_layer_and_run_values_come_from_the_function():
    def fct_thing(stg_accounts, raw_invoices, *, as_of_date, loaded_at):
        """Things.

        More detail."""

    fct_thing.__module__ = "novacrm_spark.models.core.fct_thing"
    m = Model.from_function(model(fct_thing))
    assert (m.name, m.layer, m.inputs) == ("fct_thing", "core", ("stg_accounts", "raw_invoices"))
    assert (m.run_values, m.raw_inputs, m.model_inputs) == (("as_of_date", "loaded_at"), ("raw_invoices",),
                                                          ("stg_accounts",))
    assert m.description == "Things."


def test_a_keyword_only_parameter_that_is_no_run_value_is_refused():
    def fct_thing(stg_accounts, *, as_of):
        """Things."""

    fct_thing.__module__ = "novacrm_spark.models.core.fct_thing"
    with pytest.raises(ValueError, match="fct_thing.*as_of are not run values"):
        Model.from_function(fct_thing)


def test_the_layer_is_the_package_and_a_model_outside_the_layers_is_refused():
    assert layer_of("novacrm_spark.models.marts.nrr_summary") == "marts"
    assert layer_of("novacrm_spark.models.staging.stg_accounts") == "staging"
    for module in ("novacrm_spark.models.gold.x", "novacrm_spark.registry", "elsewhere.core.x"):
        with pytest.raises(ValueError, match="must live in novacrm_spark.models"):
            layer_of(module)


def test_a_module_offers_only_the_models_it_defines():
    module = types.ModuleType("novacrm_spark.models.marts.fake_mart")

    @model
    def fake_mart(fct_revenue, *, as_of_date):
        """A mart."""

    def helper(x):
        return x

    fake_mart.__module__ = helper.__module__ = module.__name__
    imported = all_models()["fct_revenue"].build  # a model imported from another module is not this one's
    module.fake_mart, module.helper, module.fct_revenue = fake_mart, helper, imported
    assert models_in(module) == [fake_mart]
    assert is_model(fake_mart) and not is_model(helper)


def test_the_model_modules_do_not_import_the_registry():
    # The registry imports the models; were they to import it back, the import order would decide what works.
    models_dir = Path(novacrm_spark.models.__file__).parent
    for path in sorted(models_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                imported = [a.name for a in node.names]
            else:
                continue
            assert "novacrm_spark.registry" not in imported, f"{path.relative_to(models_dir)} imports the registry"
    assert StagingResult.__module__ == "novacrm_spark.model"


def test_no_package_init_lists_the_models():
    # Scanning finds them: a new model is its module, its YAML and its test, nothing more.
    for layer in LAYER_ORDER:
        init = Path(novacrm_spark.models.__file__).parent / layer / "__init__.py"
        assert not [n for n in ast.parse(init.read_text()).body if isinstance(n, (ast.Import, ast.ImportFrom))]


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
