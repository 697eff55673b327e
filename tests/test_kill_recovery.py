"""A run killed while publishing: readers keep seeing one complete run, and the next run repairs it.

Real kills (SIGKILL of the CLI and its JVM) at chosen moments: between two
table commits (the next run rolls the table commits back) and after the last
table commit (it rolls forward). The usage watermark (the table
_meta/usage_watermark, committed first in a publish) moves with the tables:
back, or forward. Killing while staging is in test_orphans.py.
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
SELECT = ["--select", "stg_accounts", "--select", "stg_invoices", "--select", "stg_usage_events"]
WATERMARK = ("_meta", "usage_watermark")
TABLES = [WATERMARK, ("staging", "stg_accounts"), ("quarantine", "accounts"), ("staging", "stg_invoices"),
          ("quarantine", "invoices"), ("staging", "stg_usage_events"), ("quarantine", "usage_events")]  # commit order
USAGE_ROWS = 300  # of the sample's usage export: enough to have a watermark, quick to build


def feed(tmp_path: Path) -> Path:
    """The sample's accounts and invoices, and the start of its usage export."""
    folder = tmp_path / "raw"
    folder.mkdir()
    for name in ("raw_accounts.csv", "raw_invoices.csv"):
        (folder / name).write_bytes((ROOT / "data" / "raw" / name).read_bytes())
    lines = (ROOT / "data" / "raw" / "raw_usage_events.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "raw_usage_events.csv").write_text("".join(lines[: USAGE_ROWS + 1]), encoding="utf-8")
    return folder


def usage_arrives(folder: Path, day: int) -> int:
    """The usage export arrives again on ``day`` (a later modification time), so the next run moves the
    watermark; returns that time as the watermark holds it (milliseconds)."""
    seconds = 1_700_000_000 + day * 86_400
    os.utime(folder / "raw_usage_events.csv", (seconds, seconds))
    return seconds * 1000


def run_args(warehouse: Path) -> list[str]:
    # The feed's usage export stops at 2024-12-29 (its first rows), a month before the as-of date: stale, allowed.
    return ["run", "--warehouse", str(warehouse), "--input", str(warehouse.parent / "raw"), "--master", "local[2]",
            "--as-of", "2025-01-31", "--allow-stale", *SELECT]


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


def watermark_time(spark, warehouse: Path) -> int:
    """The watermark the next run starts from (the table at the version the manifest pins)."""
    from novacrm_spark.run.watermark import read_watermark
    from novacrm_spark.store import open_store
    from novacrm_spark.store.manifest import PublishedTables

    return read_watermark(PublishedTables(open_store(spark, str(warehouse), "embedded"))).modification_time


def test_readers_see_one_complete_run_and_the_next_run_repairs_a_killed_one(spark, tmp_path):
    warehouse = tmp_path / "wh"
    usage = feed(tmp_path)
    marks = [usage_arrives(usage, 0)]
    novacrm(*run_args(warehouse))
    first = latest(warehouse)
    # A new table's data, then its contract's constraints (the embedded engine's second commit); the
    # watermark table has no contract.
    assert first == {**dict.fromkeys(TABLES, 1), WATERMARK: 0}
    assert watermark_time(spark, warehouse) == marks[0]

    # Killed between its second and third commits: the watermark and one table moved on, the others did not.
    marks.append(usage_arrives(usage, 1))
    killed("between-commits", warehouse)
    assert latest(warehouse) == {**first, WATERMARK: 1, ("staging", "stg_accounts"): 2}
    assert seen_by_readers(spark, warehouse) == first
    assert watermark_time(spark, warehouse) == marks[0]
    show = novacrm("show", "stg_accounts", "--warehouse", str(warehouse), "--master", "local[2]")
    assert "staging.stg_accounts (version 1):" in show.stdout

    repaired = novacrm(*run_args(warehouse))
    assert "Interrupted run found: rolled back run " in repaired.stdout
    assert "2 table(s) restored to the last complete run's version" in repaired.stdout
    # Restores (the next version of the two that moved), then this run's own commits on top.
    after = latest(warehouse)
    assert after == {**dict.fromkeys(TABLES, 2), WATERMARK: 3, ("staging", "stg_accounts"): 4}
    assert seen_by_readers(spark, warehouse) == after
    assert DeltaTable(str(warehouse.joinpath(*WATERMARK)), version=2).to_pyarrow_table()["modification_time"
                                                                                         ].to_pylist() == [marks[0]]
    assert watermark_time(spark, warehouse) == marks[1]  # the repairing run's own watermark
    restored = DeltaTable(str(warehouse / "staging" / "stg_accounts"), version=3).to_pyarrow_table()
    assert restored.equals(DeltaTable(str(warehouse / "staging" / "stg_accounts"), version=1).to_pyarrow_table())

    # Killed after its last table commit, before the manifest said "complete": readers stay on the last run.
    marks.append(usage_arrives(usage, 2))
    killed("after-last-commit", warehouse)
    assert latest(warehouse) == {t: v + 1 for t, v in after.items()}
    assert seen_by_readers(spark, warehouse) == after
    assert watermark_time(spark, warehouse) == marks[1]

    marks.append(usage_arrives(usage, 3))
    rolled = novacrm(*run_args(warehouse))
    assert "Interrupted run found: rolled forward run " in rolled.stdout
    assert f"all {len(TABLES)} of its table commits had landed" in rolled.stdout
    assert latest(warehouse) == {t: v + 2 for t, v in after.items()}  # rolled forward, then this run's commits
    assert seen_by_readers(spark, warehouse) == latest(warehouse)
    assert watermark_time(spark, warehouse) == marks[3]
