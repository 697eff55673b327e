"""Write-audit-publish, all or nothing: a failed check or quarantine threshold publishes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import pytest
from chispa import assert_df_equality

from novacrm_spark.config import Settings
from novacrm_spark.quality.contracts import ContractError, Contracts, default_contracts, parse_check
from novacrm_spark.run.runner import run_pipeline
from novacrm_spark.sources import SOURCES
from novacrm_spark.store import open_store

SELECTION = ["stg_accounts", "stg_invoices"]
ACCOUNTS_V1 = [
    "ACC-0001,Acme,software,40,growth,Ana,europe,2024-01-10,active",
    "ACC-0002,Globex,retail,600,enterprise,Bo,apac,2024-02-01,active",
]
INVOICES_V1 = [
    "INV-1,ACC-0001,2024-02-10,149.00,USD,paid,novacrm_platform",
    "INV-2,ACC-0002,2024-02-15,499.00,USD,overdue,novacrm_platform",
]
ACCOUNTS_V2 = ACCOUNTS_V1 + ["ACC-0003,Evil Corp,finance,10,starter,Cy,latam,2024-03-01,active"]
INVOICES_V2 = INVOICES_V1 + ["INV-3,ACC-0003,2024-03-05,49.00,USD,paid,novacrm_platform"]


def write_inputs(folder: Path, accounts: list[str], invoices: list[str]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for source, rows in (("accounts", accounts), ("invoices", invoices)):
        spec = SOURCES[source]
        (folder / spec.file_name).write_text("\n".join([",".join(spec.columns), *rows]) + "\n", encoding="utf-8")
    return str(folder)


def with_check(contracts: Contracts, table: str, entry: dict) -> Contracts:
    """The contracts plus one extra table-level check on ``table``."""
    contract = contracts.for_model(table)
    extra = parse_check(entry, f"test: {table}", None)
    tables = dict(contracts.tables)
    tables[(contract.layer, table)] = dataclasses.replace(contract, checks=contract.checks + (extra,))
    return Contracts(tables)


def run(spark, input_dir: str, warehouse: Path, contracts=None, **settings):
    lines: list[str] = []
    config = Settings(
        master="local[2]", shuffle_partitions=2, engine="embedded",
        input_dir=input_dir, warehouse=str(warehouse), **settings,
    )
    result = run_pipeline(
        spark, config, select=SELECTION, progress=lines.append,
        loaded_at=dt.datetime(2025, 2, 1, 6), contracts=contracts,
    )
    return result, lines


def snapshot(store, tables=(("staging", "stg_accounts"), ("staging", "stg_invoices"),
                            ("quarantine", "accounts"), ("quarantine", "invoices"))):
    """Version and file names of every table, to prove a failed run changed nothing."""
    return {
        (layer, name): (store.version(layer, name), sorted(os.listdir(store.table_path(layer, name))))
        for layer, name in tables
    }


@pytest.fixture(scope="module")
def published(spark, tmp_path_factory):
    """A warehouse holding the first publish of both tables (version 1: data, then constraints), from the v1 inputs."""
    root = tmp_path_factory.mktemp("wap")
    warehouse = root / "warehouse"
    result, _ = run(spark, write_inputs(root / "v1", ACCOUNTS_V1, INVOICES_V1), warehouse)
    assert result.ok
    store = open_store(spark, str(warehouse), "embedded")
    before = {name: store.read("staging", name) for name in SELECTION}
    return root, warehouse, store, {name: df.cache() for name, df in before.items()}, snapshot(store)


def test_first_run_publishes_everything_and_downstream_read_the_staged_upstream(published):
    _root, _warehouse, store, tables, versions = published
    # stg_invoices validated its accounts against stg_accounts before anything was published.
    assert {key: v[0] for key, v in versions.items()} == {key: 1 for key in versions}
    assert tables["stg_invoices"].count() == 2


def test_failed_check_publishes_nothing_and_skips_downstream(spark, published):
    root, warehouse, store, tables, versions = published
    contracts = with_check(
        default_contracts(), "stg_accounts",
        {"expression": {"name": "no_evil_companies", "sql": "company_name <> 'Evil Corp'"}},
    )

    result, lines = run(spark, write_inputs(root / "v2", ACCOUNTS_V2, INVOICES_V2), warehouse, contracts)

    assert not result.ok
    assert [(m.name, m.status, m.published) for m in result.models] == [
        ("stg_accounts", "error", False),
        ("stg_invoices", "skipped", False),
    ]
    assert any(
        "stg_accounts: check expression(no_evil_companies) failed on 1 row(s); "
        "sample rows: {account_id=ACC-0003, company_name=Evil Corp}" in line
        for line in lines
    )
    assert lines[-1] == "Done. PASS=0 WARN=0 ERROR=1 SKIP=1 TOTAL=2"
    assert "Nothing published" in "\n".join(lines)
    # Readers still see version 0, and the aborted files are gone.
    assert snapshot(store) == versions
    for name in SELECTION:
        assert_df_equality(store.read("staging", name), tables[name], ignore_row_order=True)


def test_a_failure_downstream_keeps_the_passing_upstream_unpublished_too(spark, published):
    root, warehouse, store, tables, versions = published
    contracts = with_check(default_contracts(), "stg_invoices", {"range": {"columns": ["amount"], "max": 100}})

    result, lines = run(spark, write_inputs(root / "v2b", ACCOUNTS_V2, INVOICES_V2), warehouse, contracts)

    assert [(m.name, m.status) for m in result.models] == [("stg_accounts", "pass"), ("stg_invoices", "error")]
    failed = next(c for c in result.models[1].checks if c["status"] == "error")
    assert (failed["name"], failed["failing_rows"]) == ("range(amount, ..100)", 2)
    # stg_accounts passed its checks, but the run is all or nothing.
    assert snapshot(store) == versions
    assert_df_equality(store.read("staging", "stg_accounts"), tables["stg_accounts"], ignore_row_order=True)


def test_a_check_that_cannot_run_on_the_table_is_named_and_nothing_is_published(spark, published):
    root, warehouse, store, _tables, versions = published
    # The write analyses the checks' metrics with its own plan; the error names the check.
    contracts = with_check(
        default_contracts(), "stg_accounts", {"expression": {"name": "typo", "sql": "no_such_column > 0"}}
    )

    with pytest.raises(ContractError, match=r"staging\.stg_accounts: check expression\(typo\) cannot run"):
        run(spark, write_inputs(root / "v2c", ACCOUNTS_V2, INVOICES_V2), warehouse, contracts)

    assert snapshot(store) == versions


def test_quarantine_threshold_blocks_the_run_with_the_counts(spark, published):
    root, warehouse, store, _tables, versions = published
    invoices = INVOICES_V1 + ["INV-9,ACC-0009,2024-03-05,49.00,USD,paid,x", "INV-8,ACC-0001,2024-03-05,-5,USD,paid,x"]

    result, lines = run(spark, write_inputs(root / "v3", ACCOUNTS_V1, invoices), warehouse)

    invoices_result = result.models[1]
    assert invoices_result.status == "error"
    assert invoices_result.quarantine == {
        "rows": 2, "source_rows": 4, "staged_rows": 2, "collapsed_rows": 0, "fraction": 0.5,
        "by_reason": {"amount below 0": 1, "unknown account_id": 1},
    }
    threshold = next(c for c in invoices_result.checks if c["kind"] == "quarantine_threshold")
    assert threshold["status"] == "error"
    assert threshold["detail"] == (
        "2 of 4 rows of raw_invoices.csv quarantined (50.0% > 5%); reasons: amount below 0: 1, unknown account_id: 1"
    )
    assert snapshot(store) == versions


def test_below_the_threshold_bad_rows_are_quarantined_with_their_reason_and_published(spark, tmp_path):
    invoices = INVOICES_V1 + ["INV-9,ACC-0009,2024-03-05,49.00,USD,paid,x"]
    folder = write_inputs(tmp_path / "raw", ACCOUNTS_V1, invoices)

    result, lines = run(spark, folder, tmp_path / "warehouse", max_quarantine_fraction=0.5)

    assert result.ok
    invoices_line = next(line for line in lines if " END   staging.stg_invoices " in line)
    assert invoices_line.endswith(
        "(file rows 3 = 2 staged + 1 quarantined + 0 identical copies collapsed; quarantined: unknown account_id 1)"
    )
    store = open_store(spark, str(tmp_path / "warehouse"), "embedded")
    quarantined = store.read("quarantine", "invoices").select("invoice_id", "reason").collect()
    assert [tuple(r) for r in quarantined] == [("INV-9", "unknown account_id")]


def test_a_model_waits_for_the_parents_its_relationship_checks_read(spark, tmp_path):
    from novacrm_spark.registry import all_models
    from novacrm_spark.run.runner import Runner

    settings = Settings(master="local[2]", engine="embedded", warehouse=str(tmp_path))
    runner = Runner(spark, settings, open_store(spark, str(tmp_path), "embedded"), dt.datetime(2025, 2, 1))

    # fct_revenue reads staging only, but audits account_id against dim_account: a failed
    # dim_account must skip it rather than let it audit against a stale published version.
    assert runner.depends_on(all_models()["fct_revenue"]) == {"stg_accounts", "stg_invoices", "dim_account", "dim_date"}


# --- another writer commits while the run builds: refused, nothing of the run published --------------


def another_writer_commits(spark, monkeypatch, warehouse: Path, layer: str, table: str) -> None:
    """Once the run has staged everything and before it publishes, another writer commits ``layer.table``."""
    from novacrm_spark.run import runner

    finish = runner.finish_run

    def interfere(*args, **kwargs):
        other = open_store(spark, str(warehouse), "embedded")
        other.overwrite(other.read(layer, table), layer, table)
        return finish(*args, **kwargs)

    monkeypatch.setattr(runner, "finish_run", interfere)


def test_a_table_another_writer_committed_meanwhile_stops_the_run(spark, tmp_path, monkeypatch):
    from novacrm_spark.errors import CommitConflictError

    warehouse = tmp_path / "warehouse"
    assert run(spark, write_inputs(tmp_path / "v1", ACCOUNTS_V1, INVOICES_V1), warehouse)[0].ok
    store = open_store(spark, str(warehouse), "embedded")
    another_writer_commits(spark, monkeypatch, warehouse, "staging", "stg_accounts")

    with pytest.raises(CommitConflictError) as raised:
        run(spark, write_inputs(tmp_path / "v2", ACCOUNTS_V2, INVOICES_V2), warehouse)

    path = store.table_path("staging", "stg_accounts")
    assert str(raised.value) == (
        f"table staging.stg_accounts at {path} was changed by another writer: it committed version 2 after this run "
        "read version 1; this run's write was not published, run it again"
    )
    assert {key: v for key, (v, _files) in snapshot(store).items()} == {
        ("staging", "stg_accounts"): 2, ("staging", "stg_invoices"): 1,
        ("quarantine", "accounts"): 1, ("quarantine", "invoices"): 1,
    }
    assert store.read("staging", "stg_accounts").count() == 2  # the other writer's copy of v1, not our 3 rows
    assert not list(warehouse.glob("*/*/_staging"))


def test_a_conflict_on_a_later_table_publishes_none_of_the_earlier_ones(spark, tmp_path, monkeypatch):
    from novacrm_spark.errors import CommitConflictError

    warehouse = tmp_path / "warehouse"
    assert run(spark, write_inputs(tmp_path / "v1", ACCOUNTS_V1, INVOICES_V1), warehouse)[0].ok
    store = open_store(spark, str(warehouse), "embedded")
    another_writer_commits(spark, monkeypatch, warehouse, "staging", "stg_invoices")

    with pytest.raises(CommitConflictError, match=r"^table staging\.stg_invoices at "):
        run(spark, write_inputs(tmp_path / "v2", ACCOUNTS_V2, INVOICES_V2), warehouse)

    # stg_accounts is committed first: a run publishes all of its tables or none.
    assert store.version("staging", "stg_accounts") == 1
    assert store.version("quarantine", "accounts") == 1
