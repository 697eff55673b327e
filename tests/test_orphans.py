"""Files of killed runs are removed by the next run, and nothing a committed version names is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from novacrm_spark.run.orphans import orphan_files, remove_orphans

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
STAGING = ["--select", "stg_accounts", "--select", "stg_usage_events"]


def cli(warehouse: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "novacrm_spark.cli", "run", "--warehouse", str(warehouse), "--master", "local[2]",
            "--as-of", "2025-01-31", *STAGING, *args]  # fmt: skip


def leftovers(warehouse: Path) -> list[Path]:
    return [p for layer in warehouse.iterdir() if layer.is_dir() for t in layer.iterdir() for p in orphan_files(t)]


def kill_while_staging(warehouse: Path, timeout: float = 300) -> None:
    """Start a run and SIGKILL it (the CLI and its JVM) as soon as a write is being staged."""
    run = subprocess.Popen(cli(warehouse), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and run.poll() is None:
            if list(warehouse.glob("*/*/_staging/*")):
                break
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before it was killed"
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # this test's own process group
        run.wait(timeout=60)


def test_the_next_run_removes_what_a_killed_run_left_and_keeps_every_version(tmp_path):
    warehouse = tmp_path / "wh"
    first = subprocess.run(cli(warehouse), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    # The pipeline's tables (the run manifest in _meta/ takes two commits per run).
    versions = {t: DeltaTable(str(t)).version() for t in warehouse.glob("[!_]*/*") if (t / "_delta_log").is_dir()}

    kill_while_staging(warehouse)
    assert leftovers(warehouse), "a run killed while staging leaves its staging folder behind"
    # An unreferenced file in a table folder, as a kill between moving files in and committing leaves it:
    stray = warehouse / "staging" / "stg_accounts" / "part-00000-killed-run.snappy.parquet"
    stray.write_bytes(b"PAR1")

    again = subprocess.run(cli(warehouse), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Took over the run lock of run" in again.stdout  # the killed run's lock, released by the kernel
    assert "that unfinished runs left in table folders" in again.stdout
    assert leftovers(warehouse) == [] and not stray.exists()
    for table, version in versions.items():
        loaded = DeltaTable(str(table))
        assert loaded.version() == version + 1  # the second run published on top of the first
        for older in range(version + 1):  # every version, old ones included, still reads in full
            loaded.load_as_version(older)
            assert all(Path(uri.removeprefix("file://")).exists() for uri in loaded.file_uris())


def test_only_unreferenced_parquet_files_and_staging_folders_go(tmp_path):
    from deltalake import write_deltalake
    import pyarrow as pa

    table = tmp_path / "wh" / "core" / "t"
    write_deltalake(str(table), pa.table({"a": [1, 2]}))
    write_deltalake(str(table), pa.table({"a": [3]}), mode="overwrite")  # version 0's file stays referenced
    kept = sorted(p.name for p in table.glob("*.parquet"))
    (table / "_staging" / "w1").mkdir(parents=True)
    (table / "_staging" / "w1" / "part-1.parquet").write_bytes(b"x")
    (table / "part-orphan.parquet").write_bytes(b"x")
    (table / "notes.txt").write_text("not ours to judge")
    never_committed = tmp_path / "wh" / "core" / "never"
    never_committed.mkdir()
    (never_committed / "part-0.parquet").write_bytes(b"x")

    assert remove_orphans(str(tmp_path / "wh")) == 3
    assert sorted(p.name for p in table.glob("*.parquet")) == kept and len(kept) == 2
    assert (table / "notes.txt").exists() and not (table / "_staging").exists()
    assert not never_committed.exists()
    assert DeltaTable(str(table), version=0).to_pyarrow_table().num_rows == 2  # time travel still reads


def test_the_run_results_table_is_cleaned_and_each_runs_json_is_left_alone(tmp_path):
    from deltalake import write_deltalake
    import pyarrow as pa

    warehouse = tmp_path / "wh"
    results = warehouse / "_runs" / "results"
    write_deltalake(str(results), pa.table({"run_id": ["r1"], "n": [1]}), partition_by=["run_id"])
    (results / "run_id=r2").mkdir()
    (results / "run_id=r2" / "part-killed.parquet").write_bytes(b"x")  # a killed run's results, never committed
    run_json = warehouse / "_runs" / "20250201T060000-1a2b3c4d" / "run_results.json"
    run_json.parent.mkdir()
    run_json.write_text("{}")

    assert remove_orphans(str(warehouse)) == 1
    assert run_json.exists() and not (results / "run_id=r2").exists()
    assert DeltaTable(str(results)).to_pyarrow_table().num_rows == 1
