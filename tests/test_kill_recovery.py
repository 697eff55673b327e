"""A run killed while publishing: readers keep seeing one complete run, and the next run repairs it.

Real kills (SIGKILL of the CLI and its JVM) at chosen moments: between two
table commits (the next run rolls the table commits back) and after the last
table commit (it rolls forward). Killing while staging is in test_orphans.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SELECT = ["--select", "stg_accounts", "--select", "stg_invoices"]
TABLES = [("staging", "stg_accounts"), ("quarantine", "accounts"), ("staging", "stg_invoices"),
          ("quarantine", "invoices")]  # in commit order


def run_args(warehouse: Path) -> list[str]:
    return ["run", "--warehouse", str(warehouse), "--master", "local[2]", "--as-of", "2025-01-31", *SELECT]


def novacrm(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "novacrm_spark.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def killed(point: str, warehouse: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "tests/killed_run.py", point, *run_args(warehouse)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, start_new_session=True)
    assert done.returncode == -9, done.stdout + done.stderr


def latest(warehouse: Path) -> dict[tuple[str, str], int]:
    return {t: DeltaTable(str(warehouse.joinpath(*t))).version() for t in TABLES}


def seen_by_readers(spark, warehouse: Path) -> dict[tuple[str, str], int | None]:
    from novacrm_spark.store import open_store
    from novacrm_spark.store.manifest import PublishedTables

    published = PublishedTables(open_store(spark, str(warehouse), "embedded"))
    return {t: published.version(*t) for t in TABLES}


def test_readers_see_one_complete_run_and_the_next_run_repairs_a_killed_one(spark, tmp_path):
    warehouse = tmp_path / "wh"
    novacrm(*run_args(warehouse))
    first = latest(warehouse)
    assert first == dict.fromkeys(TABLES, 0)

    # Killed between its second and third table commits: two tables moved on, two did not.
    killed("between-commits", warehouse)
    assert latest(warehouse) == {**first, ("staging", "stg_accounts"): 1, ("quarantine", "accounts"): 1}
    assert seen_by_readers(spark, warehouse) == first
    show = novacrm("show", "stg_accounts", "--warehouse", str(warehouse), "--master", "local[2]")
    assert "staging.stg_accounts (version 0):" in show.stdout

    repaired = novacrm(*run_args(warehouse))
    assert "Interrupted run found: rolled back run " in repaired.stdout
    assert "2 table(s) restored to the last complete run's version" in repaired.stdout
    # Restores (version 2 of the two that moved), then this run's own commits on top.
    after = latest(warehouse)
    assert after == {("staging", "stg_accounts"): 3, ("quarantine", "accounts"): 3,
                     ("staging", "stg_invoices"): 1, ("quarantine", "invoices"): 1}
    assert seen_by_readers(spark, warehouse) == after
    restored = DeltaTable(str(warehouse / "staging" / "stg_accounts"), version=2).to_pyarrow_table()
    assert restored.equals(DeltaTable(str(warehouse / "staging" / "stg_accounts"), version=0).to_pyarrow_table())

    # Killed after its last table commit, before the manifest said "complete": readers stay on the last run.
    killed("after-last-commit", warehouse)
    assert latest(warehouse) == {t: v + 1 for t, v in after.items()}
    assert seen_by_readers(spark, warehouse) == after

    rolled = novacrm(*run_args(warehouse))
    assert "Interrupted run found: rolled forward run " in rolled.stdout
    assert "all 4 of its table commits had landed" in rolled.stdout
    assert latest(warehouse) == {t: v + 2 for t, v in after.items()}  # rolled forward, then this run's commits
    assert seen_by_readers(spark, warehouse) == latest(warehouse)
