"""Every run writes run_results.json and ends with the check count and the summary line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from deltalake import DeltaTable

from novacrm_spark.config import Settings
from novacrm_spark.quality.contracts import Contracts, default_contracts, parse_check
from novacrm_spark.run.runner import run_pipeline
from novacrm_spark.sources import SOURCES

LOADED_AT = dt.datetime(2025, 2, 1, 6)
ACCOUNTS = [
    "ACC-0001,Acme,software,40,growth,Ana,europe,2024-01-10,active",
    "ACC-0002,Globex,retail,600,enterprise,Bo,apac,2024-02-01,active",
]
INVOICES = [
    "INV-1,ACC-0001,2024-02-10,149.00,USD,paid,novacrm_platform",
    "INV-1,ACC-0001,2024-02-10,149.00,USD,paid,novacrm_platform",  # an identical copy: collapses
    "INV-2,ACC-0002,2024-02-15,499.00,USD,overdue,novacrm_platform",
    "INV-3,ACC-0404,2024-02-15,10.00,USD,paid,novacrm_platform",
]


@pytest.fixture(scope="module")
def good_run(spark, tmp_path_factory):
    """A clean run of two staging models with one quarantined invoice and one collapsed copy (threshold raised
    to 50%)."""
    root = tmp_path_factory.mktemp("results")
    for source, rows in (("accounts", ACCOUNTS), ("invoices", INVOICES)):
        spec = SOURCES[source]
        (root / spec.file_name).write_text("\n".join([",".join(spec.columns), *rows]) + "\n", encoding="utf-8")
    settings = Settings(
        master="local[2]", shuffle_partitions=2, engine="embedded", input_dir=str(root),
        warehouse=str(root / "warehouse"), as_of_date=dt.date(2025, 1, 31), max_quarantine_fraction=0.5,
    )
    lines: list[str] = []
    result = run_pipeline(  # the invoices are a year older than the as-of date: stale, allowed
        spark, settings, select=["stg_accounts", "stg_invoices"], progress=lines.append, loaded_at=LOADED_AT,
        allow_stale=True,
    )
    return root, settings, result, lines, json.loads(Path(result.results_path).read_text(encoding="utf-8"))


def test_results_file_lives_under_the_run_id(good_run):
    root, _settings, result, _lines, payload = good_run
    assert Path(result.results_path) == root / "warehouse" / "_runs" / result.run_id / "run_results.json"
    assert result.run_id.startswith("20250201T060000-")
    assert payload["run_id"] == result.run_id


def test_run_level_fields(good_run):
    root, _settings, _result, _lines, payload = good_run
    assert payload["as_of_date"] == "2025-01-31"
    assert payload["engine"] == "embedded"
    assert payload["ok"] is True
    assert payload["published_tables"] == 4
    assert payload["inputs"] == {"accounts": f"{root}/raw_accounts.csv", "invoices": f"{root}/raw_invoices.csv"}
    assert payload["summary"]["pass"] + payload["summary"]["warn"] == 2
    assert payload["summary"]["error"] == payload["summary"]["skipped"] == 0
    [invoices] = payload["freshness"]["sources"]
    assert (invoices["source"], invoices["newest"], invoices["status"]) == ("invoices", "2024-02-15", "warn")


def test_model_entries_hold_status_rows_seconds_checks_and_quarantine(good_run):
    root, _settings, _result, _lines, payload = good_run
    accounts, invoices = payload["models"]

    assert (accounts["name"], accounts["status"], accounts["rows"], accounts["published"]) == (
        "stg_accounts", "pass", 2, True,
    )
    assert accounts["version"] == 1 and accounts["seconds"] >= 0  # data, then the constraints
    assert accounts["inputs"] == [f"{root}/raw_accounts.csv"]
    assert invoices["inputs"] == [f"{root}/raw_invoices.csv", "staging.stg_accounts (staged in this run)"]
    assert invoices["rows"] == 2
    # Every data row of the file: 4 = 2 staged + 1 quarantined + 1 identical copy collapsed.
    assert invoices["quarantine"] == {
        "rows": 1, "source_rows": 4, "staged_rows": 2, "collapsed_rows": 1, "fraction": 0.25,
        "by_reason": {"unknown account_id": 1},
    }
    assert accounts["quarantine"] == {
        "rows": 0, "source_rows": 2, "staged_rows": 2, "collapsed_rows": 0, "fraction": 0.0, "by_reason": {},
    }
    checks = {c["name"]: c for c in invoices["checks"]}
    assert checks["unique(invoice_id)"] == {
        "name": "unique(invoice_id)", "kind": "unique", "severity": "error", "status": "pass",
        "failing_rows": 0, "detail": None, "samples": [],
    }
    assert checks["relationships(account_id -> stg_accounts.account_id)"]["status"] == "pass"
    assert checks["quarantine_fraction <= 50%"]["status"] == "pass"
    assert checks["not_null(reason)"]["status"] == "pass"  # the quarantine table's own contract


def test_the_progress_line_accounts_for_every_row_of_the_file(good_run):
    _root, _settings, _result, lines, _payload = good_run
    invoices = next(line for line in lines if " END   staging.stg_invoices " in line)
    assert invoices.endswith(
        "(file rows 4 = 2 staged + 1 quarantined + 1 identical copies collapsed; quarantined: unknown account_id 1)"
    )
    accounts = next(line for line in lines if " END   staging.stg_accounts " in line)
    assert accounts.endswith("(file rows 2 = 2 staged + 0 quarantined + 0 identical copies collapsed)")


def test_each_model_has_a_start_line_then_an_end_line_with_the_same_number(good_run):
    _root, _settings, _result, lines, _payload = good_run
    starts = [line for line in lines if " START " in line]
    ends = [line for line in lines if " END " in line]

    assert sorted(line.split(" START ")[1] for line in starts) == ["staging.stg_accounts", "staging.stg_invoices"]
    for start in starts:
        number, label = start.split(" START ")
        end = next(line for line in ends if line.startswith(f"{number} END   {label} "))
        assert lines.index(start) < lines.index(end)
    assert len(ends) == 2


def test_run_results_carry_the_schema_version_timings_and_arguments(good_run):
    root, _settings, _result, _lines, payload = good_run

    def moment(text: str) -> dt.datetime:
        assert text.endswith("Z") and len(text) == len("2025-02-01T06:00:00.000Z"), text
        return dt.datetime.fromisoformat(text[:-1])

    assert payload["schema_version"] == "1"
    started, finished = moment(payload["started_at"]), moment(payload["finished_at"])
    for model in payload["models"]:
        assert started <= moment(model["started_at"]) <= moment(model["finished_at"]) <= finished, model["name"]
        span = (moment(model["finished_at"]) - moment(model["started_at"])).total_seconds()
        assert model["seconds"] <= span + 0.02, model["name"]
    assert payload["elapsed_seconds"] == pytest.approx((finished - started).total_seconds(), abs=0.011)
    assert payload["args"] == {
        "layer": "all", "select": ["stg_accounts", "stg_invoices"], "exclude": [], "incremental": False,
        "allow_stale": True, "as_of_date": "2025-01-31", "engine": "embedded", "input_dir": str(root),
        "warehouse": str(root / "warehouse"),
        "master": "local[2]", "remote": None, "parallel_models": 3, "shuffle_partitions": 2,
        "max_quarantine_fraction": 0.5,
    }


def test_the_run_ends_with_checks_publish_and_summary_lines(good_run):
    _root, _settings, result, lines, payload = good_run
    checks = payload["summary"]["checks"]
    contracts = default_contracts()
    declared = sum(
        len(contracts.get(*key).checks)
        for key in (("staging", "stg_accounts"), ("staging", "stg_invoices"), ("quarantine", "accounts"),
                    ("quarantine", "invoices"))
    )
    # Declared checks + a schema check per table + a quarantine threshold per source.
    assert checks == declared + 4 + 2
    assert lines[-4:] == [
        f"Checks: {checks} run, 0 failed, {payload['summary']['checks_warned']} warned",
        "Published 4 table(s)",
        f"Run results: {result.results_path}",
        "Done. PASS=2 WARN=0 ERROR=0 SKIP=0 TOTAL=2",
    ]


def test_a_failed_run_records_the_failing_check_with_samples(spark, good_run, tmp_path):
    root, settings, _result, _lines, _payload = good_run
    contract = default_contracts().for_model("stg_accounts")
    extra = parse_check({"range": {"columns": ["employee_count"], "max": 100}}, "test", None)
    tables = {
        **default_contracts().tables,
        ("staging", "stg_accounts"): dataclasses.replace(contract, checks=contract.checks + (extra,)),
    }
    failing = dataclasses.replace(settings, warehouse=str(tmp_path / "warehouse"))

    result = run_pipeline(
        spark, failing, select=["stg_accounts", "stg_invoices"], progress=lambda line: None,
        loaded_at=LOADED_AT, contracts=Contracts(tables),
    )
    payload = json.loads(Path(result.results_path).read_text(encoding="utf-8"))

    accounts, invoices = payload["models"]
    assert (accounts["status"], invoices["status"]) == ("error", "skipped")
    assert payload["ok"] is False and payload["published_tables"] == 0
    check = next(c for c in accounts["checks"] if c["status"] == "error")
    assert check["name"] == "range(employee_count, ..100)"
    assert check["failing_rows"] == 1
    assert check["samples"] == [{"account_id": "ACC-0002", "employee_count": "600"}]
    assert "range(employee_count, ..100) failed on 1 row(s)" in accounts["message"]
    assert invoices["message"] == "an upstream model failed"
    # The results table records a failed run too: nothing published, so no version.
    rows = DeltaTable(str(tmp_path / "warehouse" / "_runs" / "results")).to_pyarrow_table().to_pylist()
    assert sorted((r["model"], r["status"], r["version"], r["checks_failed"]) for r in rows) == [
        ("stg_accounts", "error", None, 1), ("stg_invoices", "skipped", None, 0)]
    assert {r["run_id"] for r in rows} == {result.run_id}


def test_the_results_table_holds_one_row_per_model_as_run_results_json_tells_it(good_run):
    root, _settings, result, _lines, payload = good_run
    rows = DeltaTable(str(root / "warehouse" / "_runs" / "results")).to_pyarrow_table().to_pylist()
    assert len(rows) == len(payload["models"]) == 2
    by_model = {row["model"]: row for row in rows}
    for model in payload["models"]:
        row = by_model[model["name"]]
        assert (row["run_id"], row["layer"], row["status"], row["rows"], row["version"], row["seconds"]) == (
            result.run_id, model["layer"], model["status"], model["rows"], model["version"], model["seconds"])
        assert row["started_at"].isoformat(timespec="milliseconds").replace("+00:00", "Z") == model["started_at"]
        assert row["checks"] == len(model["checks"])
        assert row["quarantined_rows"] == model["quarantine"]["rows"]
        assert (row["as_of_date"].isoformat(), row["engine"]) == (payload["as_of_date"], "embedded")
