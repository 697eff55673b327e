"""The packaged contracts: complete, consistent with the models, and loaded strictly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from deltalake import DeltaTable

from novacrm_spark import domains
from novacrm_spark.bookkeeping import BOOKKEEPING
from novacrm_spark import incremental as inc
from novacrm_spark.config import load_settings
from novacrm_spark.model import StagingResult
from novacrm_spark.quality.contracts import (
    ContractError,
    default_contracts,
    load_contracts,
    parse_table,
    validate_against_models,
)
from novacrm_spark.registry import all_models, topological_order
from novacrm_spark.sources import SOURCES

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2025, 1, 31)


@pytest.fixture(scope="module")
def contracts():
    return default_contracts()


@pytest.fixture(scope="module")
def output_schemas(spark):
    """Every table's schema, from the model functions run on empty inputs (analysis only, no data)."""
    settings = load_settings(ROOT / "conf" / "local.yaml", environ={})
    values = {"as_of_date": AS_OF, "loaded_at": dt.datetime(2025, 2, 1), "products": settings.products}
    frames, schemas = {}, {}
    for source, spec in SOURCES.items():
        frames[f"raw_{source}"] = spark.createDataFrame([], spec.schema)
    for model in topological_order(all_models()):
        output = model.build(*[frames[name] for name in model.inputs], **{k: values[k] for k in model.run_values})
        if isinstance(output, StagingResult):  # the runner writes neither frame's bookkeeping columns
            schemas[("quarantine", model.quarantine_table)] = output.quarantined.drop(*BOOKKEEPING).schema
            output = output.accepted.drop(*BOOKKEEPING)
        frames[model.name] = output
        if model.name in inc.PARTITIONED_TABLES:  # the runner adds the partition column
            output = inc.with_event_month(output, inc.PARTITIONED_TABLES[model.name])
        schemas[(model.layer, model.name)] = output.schema
    return schemas


def test_every_model_and_quarantine_table_has_a_contract_that_agrees_with_the_registry(contracts):
    models = all_models()
    validate_against_models(contracts, models, [m.name for m in topological_order(models)])

    expected = {(m.layer, m.name) for m in models.values()} | {("quarantine", s) for s in SOURCES}
    assert set(contracts.tables) == expected


def test_a_staging_contracts_key_is_its_sources_key(contracts):
    # The staging models count accepted rows per source key (ROWS_PER_KEY) for the
    # write's unique check, which takes that count only for the contract's key.
    for model in all_models().values():
        if model.layer == "staging":
            source = SOURCES[model.inputs[0].removeprefix("raw_")]
            assert contracts.for_model(model.name).key() == (source.key,), model.name


def test_more_checks_than_the_157_of_the_system_we_replace(contracts):
    assert contracts.total_checks >= 157


def test_contract_columns_and_types_are_exactly_the_model_outputs(contracts, output_schemas):
    for key, schema in output_schemas.items():
        contract = contracts.get(*key)
        actual = {f.name: f.dataType.simpleString() for f in schema.fields}
        declared = {c.name: c.type for c in contract.columns}
        assert actual == declared, f"{contract.qualified_name}: contract and model output differ"
        assert all(c.description.strip() for c in contract.columns)


def test_staging_accepted_values_are_the_spec_domains(contracts):
    def values(table: str, column: str) -> tuple:
        check = next(
            c for c in contracts.for_model(table).checks if c.kind == "accepted_values" and c.columns == (column,)
        )
        return check.values

    assert values("stg_accounts", "plan_tier") == domains.PLAN_TIERS
    assert values("stg_accounts", "region") == domains.REGIONS
    assert values("stg_accounts", "status") == domains.ACCOUNT_STATUSES
    assert values("stg_subscriptions", "product_name") == domains.PRODUCTS
    assert values("stg_subscriptions", "status") == domains.SUBSCRIPTION_STATUSES
    assert values("stg_invoices", "status") == domains.INVOICE_STATUSES
    assert values("stg_invoices", "currency") == domains.CURRENCIES
    assert values("stg_support_tickets", "priority") == domains.TICKET_PRIORITIES
    assert values("stg_support_tickets", "category") == domains.TICKET_CATEGORIES
    assert values("stg_support_tickets", "status") == domains.TICKET_STATUSES
    assert values("stg_usage_events", "event_category") == domains.EVENT_CATEGORY_NAMES


def test_the_spec_data_quality_rules_are_all_declared(contracts):
    def names(table: str) -> set[str]:
        return {c.name for c in contracts.for_model(table).checks}

    assert "range(health_score, 0..100)" in names("customer_health_scores")
    assert "range(mrr, 0..)" in names("fct_revenue")
    assert "range(mrr_amount, 0..)" in names("stg_subscriptions")
    assert "expression(ledger_invariant)" in names("fct_revenue")
    assert "expression(bridge_invariant)" in names("nrr_summary")
    assert {
        "expression(nrr_pct_present_when_starting_positive)",
        "expression(grr_pct_present_when_starting_positive)",
        "expression(growth_pct_present_when_starting_positive)",
    } <= names("nrr_summary")
    assert "expression(adherence_pct_present_when_resolved)" in names("sla_adherence")
    assert "expression(revenue_retention_present_when_initial_mrr_positive)" in names("revenue_cohort_analysis")
    unknown_events = next(c for c in contracts.for_model("stg_usage_events").checks if c.label == "event_name_known")
    assert unknown_events.severity == "warn"
    for source in SOURCES:
        assert "not_null(reason)" in {c.name for c in contracts.for_quarantine(source).checks}


def test_every_account_id_outside_the_account_tables_has_a_relationship_check(contracts):
    for (layer, table), contract in contracts.tables.items():
        if layer == "quarantine" or table == "stg_accounts" or "account_id" not in contract.column_names:
            continue
        kinds = {(c.kind, c.columns) for c in contract.checks}
        assert ("relationships", ("account_id",)) in kinds, f"{layer}.{table}: account_id has no parent check"


@pytest.mark.parametrize(
    "body, problem",
    [
        ({"columns": {}}, "needs a description"),
        ({"description": "t", "columns": {"a": {"type": "string"}}}, "needs a type and a description"),
        ({"description": "t", "columns": {"a": {"type": "string", "description": "a", "checks": ["unique_ish"]}}},
         "unknown check 'unique_ish'"),
        ({"description": "t", "columns": {"a": {"type": "string", "description": "a",
                                               "checks": [{"not_null": {"severity": "fatal"}}]}}},
         "severity must be error or warn"),
        ({"description": "t", "columns": {"a": {"type": "int", "description": "a", "checks": [{"range": {}}]}}},
         "needs min and/or max"),
        ({"description": "t", "columns": {"a": {"type": "int", "description": "a"}},
          "checks": [{"unique": ["b"]}]}, "undeclared column"),
        ({"description": "t", "columns": {"a": {"type": "int", "description": "a"}},
          "checks": [{"expression": {"sql": "a > 0"}}]}, "needs name and sql"),
        ({"description": "t", "columns": {"a": {"type": "int", "description": "a"}},
          "checks": [{"expression": {"name": "e", "sql": "a > {today}"}}]}, "unknown placeholder"),
        ({"description": "t", "colums": {}}, "unknown key"),
    ],
)
def test_malformed_contracts_are_rejected_naming_file_table_and_problem(body, problem):
    with pytest.raises(ContractError, match=problem) as error:
        parse_table("core", "t", body, "_core.yml")
    assert str(error.value).startswith("_core.yml: core.t")


def test_a_contract_file_that_is_not_yaml_names_the_file(tmp_path):
    bad = tmp_path / "fct_x.yml"
    bad.write_text("columns: [unclosed\n", encoding="utf-8")

    with pytest.raises(ContractError, match=f"{bad}: not valid YAML"):
        load_contracts({"core": [bad]})


def test_each_contract_is_one_file_beside_its_model_named_like_it(contracts):
    for model in all_models().values():
        contract = Path(contracts.for_model(model.name).source_file)
        module = Path(sys.modules[model.build.__module__].__file__)
        assert (contract.parent, contract.name) == (module.parent, f"{model.name}.yml"), model.name
        if model.quarantine_table:
            assert contracts.for_quarantine(model.quarantine_table).source_file == str(contract)


def test_a_file_names_its_table_and_a_staging_file_its_quarantine_table(tmp_path):
    shared = {"reason": {"type": "string", "description": "Why.", "checks": ["not_null"]}}
    staging = tmp_path / "stg_things.yml"
    staging.write_text(
        "description: Things.\n"
        "columns:\n  thing_id: {type: string, description: Id., checks: [not_null, unique]}\n"
        "quarantine:\n  description: Rejected things.\n  columns:\n    reason: shared\n",
        encoding="utf-8",
    )
    core = tmp_path / "dim_thing.yml"
    core.write_text("description: A thing.\nquarantine: {description: no}\n", encoding="utf-8")

    loaded = load_contracts({"staging": [staging]}, shared)
    assert set(loaded.tables) == {("staging", "stg_things"), ("quarantine", "things")}
    assert loaded.for_quarantine("things").checks[0].name == "not_null(reason)"
    with pytest.raises(ContractError, match="only a staging model stg_<source> has a quarantine table"):
        load_contracts({"core": [core]}, shared)


def test_accepted_values_name_a_domain_of_domains_py():
    body = {"description": "t", "columns": {"tier": {"type": "string", "description": "Tier.", "checks": [
        {"accepted_values": {"domain": "plan_tiers"}}]}}}
    assert parse_table("core", "t", body, "t.yml").checks[0].values == domains.PLAN_TIERS

    body["columns"]["tier"]["checks"] = [{"accepted_values": {"domain": "plan_tier"}}]
    with pytest.raises(ContractError, match="t.yml: core.t.tier: unknown domain 'plan_tier'; known: .*plan_tiers"):
        parse_table("core", "t", body, "t.yml")


def test_a_shared_column_must_exist():
    body = {"description": "t", "columns": {"_loaded_at": "shared"}}
    with pytest.raises(ContractError, match="no shared column '_loaded_at'"):
        parse_table("core", "t", body, "t.yml", shared={})


def test_contracts_load_from_a_zip_as_on_spark_submit_py_files(tmp_path):
    archive = tmp_path / "novacrm_spark.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (ROOT / "novacrm_spark").rglob("*"):
            if path.suffix in (".py", ".yml") and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(ROOT).as_posix())
    code = ("from novacrm_spark.quality.contracts import default_contracts; c = default_contracts(); "
            "print(len(c.tables), c.total_checks, c.for_model('stg_accounts').source_file)")

    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(archive)}, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[:2] == [str(len(default_contracts().tables)), str(default_contracts().total_checks)]
    assert out[2].startswith(str(archive))


def test_models_without_contracts_and_backward_relationships_are_reported(contracts):
    models = all_models()
    order = [m.name for m in topological_order(models)]
    partial = type(contracts)({k: v for k, v in contracts.tables.items() if k != ("marts", "nrr_summary")})

    with pytest.raises(ContractError, match=r"marts\.nrr_summary has no contract"):
        validate_against_models(partial, models, order)
    # dim_account's parent check on stg_accounts would break if staging were built later.
    reordered = [n for n in order if n != "stg_accounts"] + ["stg_accounts"]
    with pytest.raises(ContractError, match="the parent is built after the child"):
        validate_against_models(contracts, models, reordered)


def test_a_contract_without_a_key_or_with_a_nullable_key_is_reported(contracts):
    models = all_models()
    order = [m.name for m in topological_order(models)]
    revenue = contracts.for_model("fct_revenue")

    def with_checks(keep) -> type(contracts):
        changed = dataclasses.replace(revenue, checks=tuple(c for c in revenue.checks if keep(c)))
        return type(contracts)({**contracts.tables, ("core", "fct_revenue"): changed})

    with pytest.raises(ContractError, match=r"core\.fct_revenue: no unique check, so the table has no key"):
        validate_against_models(with_checks(lambda c: c.kind != "unique"), models, order)
    with pytest.raises(ContractError, match="core.fct_revenue: key column revenue_month lacks a not_null check"):
        validate_against_models(with_checks(lambda c: c.name != "not_null(revenue_month)"), models, order)


def test_descriptions_become_delta_table_and_column_comments(built_warehouse, contracts):
    for layer, table in (("core", "fct_revenue"), ("marts", "customer_health_scores"), ("quarantine", "accounts")):
        contract = contracts.get(layer, table)
        delta = DeltaTable(str(built_warehouse / layer / table))
        comments = {f["name"]: f["metadata"].get("comment") for f in json.loads(delta.schema().to_json())["fields"]}

        assert delta.metadata().description == contract.description
        assert comments == contract.column_comments()
