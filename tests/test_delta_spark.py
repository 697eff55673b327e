"""Delta's own JVM engine, for real: the whole pipeline, cross-engine reads and time travel, other readers.

Delta's jars come from Maven Central through Spark's own resolver (``spark.jars.packages``),
fetched once per machine by ``.ci/run``, so no test downloads them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from duckdb_extensions import import_extension

from novacrm_spark.quality.contracts import default_contracts
from novacrm_spark.registry import all_models
from table_properties import assert_run_table_metadata, run_tables
from tables_equal import assert_same_tables

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def novacrm(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NOVACRM_MASTER": "local[2]", "NOVACRM_SHUFFLE_PARTITIONS": "2"}
    done = subprocess.run([sys.executable, "-m", "novacrm_spark.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def build(warehouse: Path, engine: str, *args: str) -> None:
    novacrm("run", "--engine", engine, "--input", "data/raw", "--warehouse", str(warehouse), *args)


@pytest.fixture(scope="module")
def delta_warehouse(tmp_path_factory) -> Path:
    """Every layer of the bundled sample, written by delta-spark."""
    warehouse = tmp_path_factory.mktemp("delta-spark") / "warehouse"
    build(warehouse, "delta-spark", "--as-of", "2025-01-31")
    return warehouse


def test_delta_spark_builds_every_table_equal_to_the_embedded_engine(delta_warehouse, built_warehouse):
    assert_same_tables(built_warehouse, delta_warehouse)
    contracts = default_contracts()
    for name, model in all_models().items():
        # The contract's description is the table's own comment, whole (not a commit's userMetadata).
        metadata = DeltaTable(str(delta_warehouse / model.layer / name)).metadata()
        assert metadata.description == contracts.for_model(name).description, name


def test_delta_rs_polars_and_duckdb_read_delta_sparks_tables(delta_warehouse, built_warehouse):
    import_extension("delta")  # DuckDB's delta extension, from PyPI (duckdb-extension-delta)
    connection = duckdb.connect()
    connection.sql("LOAD delta")
    for layer, name in [("core", "fct_usage"), ("marts", "churn_risk_view"), ("quarantine", "usage_events")]:
        expected = DeltaTable(str(built_warehouse / layer / name)).to_pyarrow_table().num_rows
        path = str(delta_warehouse / layer / name)

        assert pl.read_delta(path).height == expected, name
        assert connection.sql(f"SELECT count(*) FROM delta_scan('{path}')").fetchone()[0] == expected, name


def fingerprints(engine: str, versions: list[list]) -> list:
    done = subprocess.run([sys.executable, str(TESTS / "delta_fingerprint.py"), engine], input=json.dumps(versions),
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_engine_reads_and_time_travels_what_the_other_wrote(built_warehouse, delta_warehouse, tmp_path):
    # One version by one engine (every layer), the next by the other: one mart at another as-of
    # date, built from the upstream tables the first engine wrote.
    embedded_first, delta_first = tmp_path / "embedded-first", tmp_path / "delta-first"
    shutil.copytree(built_warehouse, embedded_first)
    shutil.copytree(delta_warehouse, delta_first)
    # Each publish's version (the embedded engine declares a new table's constraints in a second commit).
    mart = lambda warehouse: DeltaTable(str(warehouse / "marts" / "churn_risk_view")).version()  # noqa: E731
    published = {w: [mart(w)] for w in (embedded_first, delta_first)}
    build(embedded_first, "delta-spark", "--as-of", "2025-01-15", "--select", "churn_risk_view")
    build(delta_first, "embedded", "--as-of", "2025-01-15", "--select", "churn_risk_view")
    versions = [[str(w), "marts", "churn_risk_view", v] for w, before in published.items() for v in (*before, mart(w))]

    by_embedded, by_delta_spark = fingerprints("embedded", versions), fingerprints("delta-spark", versions)

    assert by_embedded == by_delta_spark
    first_v0, first_v1, second_v0, second_v1 = by_embedded
    assert first_v0 == second_v0 and first_v1 == second_v1  # each version the same whichever engine wrote it
    assert first_v0 != first_v1  # and the two versions really differ


def test_delta_spark_writes_the_retention_properties_and_the_contracts_constraints(delta_warehouse, tmp_path):
    tables = run_tables(delta_warehouse)
    assert {t.parent.name for t in tables} >= {"staging", "core", "marts", "quarantine", "_meta"}
    for path in tables:
        assert_run_table_metadata(path)
    # Any other writer is held to them, delta-rs included.
    table = tmp_path / "fct_revenue"
    shutil.copytree(delta_warehouse / "core" / "fct_revenue", table)
    row = DeltaTable(str(table)).to_pyarrow_table().slice(0, 1)
    write_deltalake(str(table), row, mode="append")
    mrr = row.schema.get_field_index("mrr")
    negative = row.set_column(mrr, "mrr", pa.array([Decimal("-1.00")], row.schema.field(mrr).type))
    with pytest.raises(Exception, match="validation"):
        write_deltalake(str(table), negative, mode="append")


def test_delta_spark_vacuum_removes_old_unreferenced_files_only(delta_warehouse, tmp_path):
    # One table, not all: Delta's VACUUM runs several Spark jobs per table (tens of seconds on two busy cores).
    warehouse = tmp_path / "warehouse"
    shutil.copytree(delta_warehouse / "core" / "dim_date", warehouse / "core" / "dim_date")
    orphan = warehouse / "core" / "dim_date" / "part-00000-left-by-a-failed-write.c000.snappy.parquet"
    orphan.write_bytes(b"not referenced by any version")
    month_ago = orphan.stat().st_mtime - 30 * 24 * 3600
    os.utime(orphan, (month_ago, month_ago))
    before, commits = data_files(warehouse), sorted(warehouse.rglob("_delta_log/*.json"))

    done = novacrm("vacuum", "--engine", "delta-spark", "--warehouse", str(warehouse))

    # Delta's VACUUM also prints a line of its own ("Deleted 1 files and directories ...").
    assert [line for line in done.stdout.splitlines() if not line.startswith("Deleted ")] == [
        "core.dim_date: removed 1 file (retain 168 hours)",
        "Total: 1 file removed, 1 table",
    ]
    assert data_files(warehouse) == before - {orphan}
    # No commit either (vacuum logging off): a run publishing meanwhile would not see its tables move.
    assert sorted(warehouse.rglob("_delta_log/*.json")) == commits
    assert DeltaTable(str(warehouse / "core" / "dim_date")).to_pyarrow_table().num_rows > 0


def data_files(warehouse: Path) -> set[Path]:
    return {p for p in warehouse.rglob("*") if p.is_file() and "_delta_log" not in p.parts and p.name != "_run.lock"}
