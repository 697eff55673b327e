"""End to end: the real ``novacrm`` CLI and ``spark-submit.sh`` on generated data.

These run as subprocesses, exactly as a user would, and check the published
Delta tables with the independent ``deltalake`` reader.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from novacrm_spark.registry import all_models
from novacrm_spark.session import delta_package
from tables_equal import read_table

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMESTAMPS = {"_loaded_at", "scored_at", "assessed_at"}
CLI = [sys.executable, "-m", "novacrm_spark.cli"]


def run(args, extra_env=None, **kwargs):
    env = {**os.environ, "NOVACRM_MASTER": "local[2]", "NOVACRM_SHUFFLE_PARTITIONS": "2", **(extra_env or {})}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, **kwargs)


def assert_frame_same(expected: Path, actual: Path, layer: str, name: str) -> None:
    pd.testing.assert_frame_equal(read_table(expected, layer, name), read_table(actual, layer, name), obj=name)


def table(warehouse: Path, layer: str, name: str) -> pd.DataFrame:
    return DeltaTable(str(warehouse / layer / name)).to_pandas()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "raw"
    # 150 accounts, like the bundled sample: with fewer, the generator's one-row-per-kind
    # minimum of dirt can pass the 5% quarantine threshold on its own.
    done = run(CLI + ["generate", "--accounts", "150", "--seed", "11", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def two_runs(generated, tmp_path_factory):
    """Two full builds of the same input into two warehouses, the second one --verbose with JSON logs."""
    warehouses = []
    for attempt, flags in (("first", []), ("second", ["--verbose", "--log-format", "json"])):
        warehouse = tmp_path_factory.mktemp(attempt) / "wh"
        done = run(CLI + ["run", "--input", str(generated), "--warehouse", str(warehouse), "--as-of", "2025-01-31",
                          *flags])
        assert done.returncode == 0, done.stdout + done.stderr
        warehouses.append((warehouse, done.stdout, done.stderr))
    return warehouses


# Spark's banner lines, and log4j's own lines ("26/12/05 18:11:24 WARN Utils: ...").
SPARK_NOISE = re.compile(r"log4j|Setting default log level|setLogLevel|incubator modules|^\d\d/\d\d/\d\d [\d:]{8} [A-Z]+ ")


def test_a_run_is_quiet_unless_verbose(two_runs):
    (_, quiet_out, quiet_err), (_, _, verbose_err) = two_runs

    # No Spark banner or log line anywhere in a normal run's output; --verbose shows them.
    assert [line for line in (quiet_out + quiet_err).splitlines() if SPARK_NOISE.search(line)] == []
    assert "log4j" in verbose_err


def test_cli_builds_all_sixteen_tables(two_runs):
    warehouse, stdout, _ = two_runs[0]
    assert stdout.strip().splitlines()[-1].startswith("Done. PASS=")
    assert "ERROR=0" in stdout and "SKIP=0" in stdout
    lines = stdout.splitlines()
    for name, model in all_models().items():
        assert DeltaTable.is_deltatable(str(warehouse / model.layer / name)), name
        [start] = [line for line in lines if line.endswith(f" START {model.layer}.{name}")]
        [end] = [line for line in lines if f" END   {model.layer}.{name} " in line]
        assert end.startswith(start.split(" START ")[0]) and lines.index(start) < lines.index(end), name
    assert len(all_models()) == 16


def test_json_logs_tell_every_model_start_and_end_and_nothing_else(two_runs):
    warehouse, stdout, _ = two_runs[1]
    events = [json.loads(line) for line in stdout.splitlines()]  # every stdout line is one JSON object

    kinds = [e["event"] for e in events]
    assert kinds[-1] == "run_end" and kinds.count("run_start") == 1 and "error" not in kinds
    run_id = events[kinds.index("run_start")]["run_id"]
    assert all(e["run_id"] == run_id and e["ts"].endswith("Z") for e in events)
    starts = {e["model"]: e for e in events if e["event"] == "model_start"}
    ends = {e["model"]: e for e in events if e["event"] == "model_end"}
    assert set(starts) == set(ends) == set(all_models()) and len(ends) == kinds.count("model_end")
    for name, end in ends.items():
        assert events.index(starts[name]) < events.index(end) and starts[name]["index"] == end["index"], name
    assert sorted(e["index"] for e in starts.values()) == list(range(1, 17))
    results = json.loads((warehouse / "_runs" / run_id / "run_results.json").read_text(encoding="utf-8"))
    run_end = events[-1]
    assert run_end["ok"] is True and run_end["summary"] == results["summary"]
    assert run_end["summary"]["pass"] + run_end["summary"]["warn"] == 16
    assert run_end["elapsed_seconds"] == results["elapsed_seconds"]
    for model in results["models"]:
        assert (model["started_at"], model["finished_at"]) == (starts[model["name"]]["ts"], ends[model["name"]]["ts"])
        assert ends[model["name"]]["rows"] == model["rows"]
    assert (results["args"]["as_of_date"], results["args"]["warehouse"]) == ("2025-01-31", str(warehouse))


def test_keys_are_unique_and_not_null(two_runs):
    warehouse = two_runs[0][0]
    for name, model in all_models().items():
        df = table(warehouse, model.layer, name)
        keys = df[list(model.key)]
        assert not keys.isna().any().any(), f"{name}: null key"
        assert not keys.duplicated().any(), f"{name}: duplicate key"


def test_revenue_ledger_and_nrr_invariants_hold_on_every_row(two_runs):
    warehouse = two_runs[0][0]
    ledger = table(warehouse, "core", "fct_revenue")
    assert len(ledger) > 0
    identity = (
        ledger.previous_mrr + ledger.new_mrr + ledger.reactivation_mrr + ledger.expansion_mrr
        - ledger.contraction_mrr - ledger.churned_mrr
    )
    assert (identity == ledger.mrr).all()
    assert (ledger.mrr >= Decimal(0)).all()
    nrr = table(warehouse, "marts", "nrr_summary").sort_values("revenue_month")
    ending = (
        nrr.starting_mrr + nrr.new_mrr + nrr.reactivation_mrr + nrr.expansion_mrr
        - nrr.contraction_mrr - nrr.churned_mrr
    )
    assert (ending == nrr.ending_mrr).all()
    assert (nrr.starting_mrr.iloc[1:].to_numpy() == nrr.ending_mrr.iloc[:-1].to_numpy()).all()


def test_marts_stay_in_range_and_cohorts_are_complete(two_runs):
    warehouse = two_runs[0][0]
    health = table(warehouse, "marts", "customer_health_scores")
    assert health.health_score.between(0, 100).all()
    accounts = table(warehouse, "core", "dim_account")
    assert set(health.account_id) == set(accounts.account_id[accounts.status == "active"])
    cohorts = table(warehouse, "marts", "revenue_cohort_analysis")
    ledger = table(warehouse, "core", "fct_revenue")
    paying = accounts[accounts.account_id.isin(ledger.account_id[ledger.mrr > 0])]
    paying_cohorts = set(pd.to_datetime(paying.signup_date).dt.to_period("M").dt.to_timestamp().dt.date)
    assert set(cohorts.cohort_month) == paying_cohorts
    assert (cohorts[cohorts.period_number == 0].account_retention_pct == 100.0).all()


def test_a_second_run_gives_identical_tables(two_runs):
    (first, _, _), (second, _, _) = two_runs
    for name, model in all_models().items():
        a, b = (table(w, model.layer, name) for w in (first, second))
        columns = [c for c in a.columns if c not in RUN_TIMESTAMPS]
        order = list(model.key)
        pd.testing.assert_frame_equal(
            a[columns].sort_values(order).reset_index(drop=True),
            b[columns].sort_values(order).reset_index(drop=True),
            obj=name,
        )


def test_spark_submit_with_delta_on_local_2(tmp_path, built_warehouse):
    if shutil.which("spark-submit") is None:
        pytest.skip("spark-submit is not on PATH (pip install pyspark puts it there)")
    warehouse = tmp_path / "wh"
    # Delta's jars through --packages, as the README says (the resolver's cache: .ci/run fetched
    # them). One layer here; tests/test_standalone_cluster.py submits all three with Delta.
    done = run(["./spark-submit.sh", "staging", "--warehouse", str(warehouse), "--as-of", "2025-01-31"],
               extra_env={"DELTA_SPARK_PACKAGE": delta_package()})
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("== spark-submit")] == [
        "== spark-submit jobs/staging.py"]
    assert "engine delta-spark" in done.stdout  # engine auto found Delta's classes
    for name, model in all_models().items():
        if model.layer == "staging":
            assert_frame_same(built_warehouse, warehouse, "staging", name)


def test_spark_submit_rejects_an_unknown_layer():
    done = run(["./spark-submit.sh", "gold"])
    assert done.returncode == 2
    assert "unknown layer 'gold'" in done.stderr
