"""End to end: the real ``novacrm`` CLI and ``spark-submit.sh`` on generated data.

These run as subprocesses, exactly as a user would, and check the published
Delta tables with the independent ``deltalake`` reader.
"""

from __future__ import annotations

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
    """Two full builds of the same input into two warehouses, the second one --verbose."""
    warehouses = []
    for attempt, flags in (("first", []), ("second", ["--verbose"])):
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
    for name, model in all_models().items():
        assert DeltaTable.is_deltatable(str(warehouse / model.layer / name)), name
        assert f"{model.layer}.{name}" in stdout, "one progress line per model"
    assert len(all_models()) == 16


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
