"""``novacrm vacuum``: by retention only, never shorter than the readers' safety window, never a pinned version's files.

On a copy of the built warehouse: one table published again by a run (the manifest
moves with it), another overwritten behind the manifest's back (readers stay on
its old version). The CLI runs in this process, on the tests' Spark session.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from novacrm_spark.cli import main
from novacrm_spark.retention import DELETED_FILE_RETENTION, LOG_RETENTION
from novacrm_spark.run.publish import publish_run
from novacrm_spark.store import open_store
from novacrm_spark.store.manifest import PublishedTables
from novacrm_spark.upkeep.vacuum import vacuum_table

CONFIG = "master: local[2]\nshuffle_partitions: 2\nengine: embedded\n"
# A window of nothing: files a commit removed a moment ago may go (only ever on purpose, in config).
NO_WINDOW = {LOG_RETENTION: "interval 30 days", DELETED_FILE_RETENTION: "interval 0 hours"}
REPUBLISHED = ("core", "fct_usage")  # partitioned by event_month
BEHIND_THE_MANIFEST = ("marts", "nrr_summary")


@pytest.fixture
def warehouse(built_warehouse, tmp_path) -> Path:
    copy = tmp_path / "warehouse"
    shutil.copytree(built_warehouse, copy)
    return copy


def config(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "conf.yaml"
    path.write_text(CONFIG + extra, encoding="utf-8")
    return str(path)


def vacuum(config_file: str, warehouse: Path, *args: str):
    return CliRunner().invoke(main, ["vacuum", "--config", config_file, "--warehouse", str(warehouse), *args])


def data_files(warehouse: Path, layer: str, name: str) -> set[str]:
    """The table folder's Parquet files, relative to it (not the log's, not scratch folders)."""
    folder = warehouse / layer / name
    files = (p.relative_to(folder) for p in folder.rglob("*.parquet"))
    return {str(p) for p in files if not p.parts[0].startswith("_")}


def every_file(warehouse: Path) -> set[str]:
    return {str(p.relative_to(warehouse)) for p in warehouse.rglob("*") if p.is_file() and p.name != "_run.lock"}


def rows(store, layer: str, name: str) -> list:
    return sorted(PublishedTables(store).read(layer, name).collect())


def write_again(spark, warehouse: Path, table: tuple[str, str], through_a_run: bool) -> None:
    """The table's same rows as a new version, written with a zero-hour window in its properties."""
    store = open_store(spark, str(warehouse), "embedded", NO_WINDOW)
    same = spark.createDataFrame(store.read(*table).collect(), store.read(*table).schema)
    partitions = DeltaTable(store.table_path(*table)).metadata().partition_columns
    staged = store.stage(same, *table, partition_by=partitions)
    if through_a_run:
        publish_run(store, [(table, staged)], "20250202T060000-vacuumtest", known=[])
    else:
        staged.commit()


def listed_files(lines: list[str], table: str) -> set[str]:
    """The files a dry run lists under ``table``'s line."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{table}: "))
    listed = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        listed.append(line.strip())
    return set(listed)


def test_a_retention_shorter_than_the_safety_window_is_refused_before_anything(warehouse, tmp_path):
    before = every_file(warehouse)
    result = vacuum(config(tmp_path), warehouse, "--retain-hours", "0")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: --retain-hours 0 is shorter than the readers' safety window, 168 hours (setting "
        "deleted_file_retention: interval 7 days): a reader of an older version, or a query still running, "
        "could lose its files. Nothing was vacuumed"
    ]
    assert "Traceback" not in result.output and every_file(warehouse) == before


def test_vacuum_removes_what_no_version_in_the_window_needs_and_keeps_what_readers_read(spark, warehouse, tmp_path):
    store = open_store(spark, str(warehouse), "embedded")
    expected = {t: rows(store, *t) for t in (REPUBLISHED, BEHIND_THE_MANIFEST)}
    replaced = data_files(warehouse, *REPUBLISHED)
    pinned_files = data_files(warehouse, *BEHIND_THE_MANIFEST)
    write_again(spark, warehouse, REPUBLISHED, through_a_run=True)
    write_again(spark, warehouse, BEHIND_THE_MANIFEST, through_a_run=False)
    no_window = config(tmp_path, "deleted_file_retention: interval 0 hours\n")
    orphan = warehouse / "core" / "dim_date" / "part-00000-left-by-a-failed-write.c000.snappy.parquet"
    orphan.write_bytes(b"never committed")
    month_ago = orphan.stat().st_mtime - 30 * 24 * 3600
    os.utime(orphan, (month_ago, month_ago))
    before = every_file(warehouse)

    dry = vacuum(no_window, warehouse, "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert f"core.fct_usage: would remove {len(replaced)} files (retain 0 hours)" in lines
    assert listed_files(lines, "core.fct_usage") == replaced  # the files of the version the run replaced
    # Tables written with the default window keep it, whatever the command asks.
    assert "core.dim_account: would remove 0 files (retain 168 hours, the table's own window)" in lines
    assert "core.dim_date: would remove 1 file (retain 168 hours, the table's own window)" in lines
    assert listed_files(lines, "core.dim_date") == {orphan.name}  # older than any window, never committed
    [skipped] = [line for line in lines if line.startswith("marts.nrr_summary:")]
    assert skipped.startswith("marts.nrr_summary: skipped: readers are pinned to version 1 and later commits removed")
    counted = sum(int(line.split(" would remove ")[1].split()[0]) for line in lines if " would remove " in line)
    tables = sum(1 for line in lines if not line.startswith(("  ", "Total")))
    assert lines[-1] == f"Total: {counted} files would be removed, {tables} tables (1 skipped)"
    assert every_file(warehouse) == before  # a dry run removes nothing

    real = vacuum(no_window, warehouse)
    assert real.exit_code == 0, real.output
    assert f"core.fct_usage: removed {len(replaced)} files (retain 0 hours)" in real.output.splitlines()
    assert not data_files(warehouse, *REPUBLISHED) & replaced
    assert pinned_files <= data_files(warehouse, *BEHIND_THE_MANIFEST)  # readers still read them
    assert not orphan.exists()
    assert all("/_delta_log/" in f for f in every_file(warehouse) - before)  # vacuum's own commits only
    for table, table_rows in expected.items():
        assert rows(store, *table) == table_rows, table

    again = vacuum(no_window, warehouse)
    assert "core.fct_usage: removed 0 files (retain 0 hours)" in again.output.splitlines()


def test_the_embedded_vacuum_never_takes_a_file_the_table_references(spark, tmp_path):
    """delta-rs's full vacuum takes a partition folder with an escaped character (p=a%3Ab c) for unreferenced."""
    warehouse = tmp_path / "wh"
    store = open_store(spark, str(warehouse), "embedded", NO_WINDOW)
    df = spark.createDataFrame([("a:b c", 1), ("plain", 2)], "p string, n int")
    store.overwrite(df, "core", "t", partition_by=["p"])
    first = data_files(warehouse, "core", "t")
    store.overwrite(df, "core", "t", partition_by=["p"])
    live = data_files(warehouse, "core", "t") - first

    removed = vacuum_table(store, store.table_path("core", "t"), 0, dry_run=False)

    assert live <= data_files(warehouse, "core", "t")
    assert [f for f in first if f.startswith("p=plain/")] == removed  # the plain folder's replaced file
