"""Other readers skip files of the embedded engine's tables, by partition and by column statistics.

A small usage-events table, partitioned by month like ``stg_usage_events``, is
written through the embedded store: one file per month. DuckDB's ``delta_scan``
reports in ``EXPLAIN ANALYZE`` how many of the table's files it scanned.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable
from duckdb_extensions import import_extension

from novacrm_spark.store import open_store

MONTHS = [dt.date(2024, m, 1) for m in (1, 2, 3, 4)]
SCHEMA = "event_id string, account_id string, event_date date, event_ts timestamp, quantity long, event_month date"
EDGE_SCHEMA = "p int, s string, ts timestamp, amount decimal(38,10), n long"
TOP = "\U0010ffff"
# Delta's own reader, in a process of its own (a JVM's classpath is fixed when it starts): for each
# filter, the rows it reads and the files it keeps after data skipping.
DELTA_SPARK_READ = """
import json, sys
from novacrm_spark.config import Settings
from novacrm_spark.session import build_spark_session
spark = build_spark_session(Settings(master="local[1]", engine="delta-spark", shuffle_partitions=1))
table = spark.read.format("delta").load(sys.argv[1])
print(json.dumps([[table.where(w).count(), len(table.where(w).inputFiles())] for w in json.loads(sys.argv[2])]))
"""


@pytest.fixture(scope="module")
def duck():
    import_extension("delta")  # DuckDB's delta extension, from PyPI (duckdb-extension-delta)
    connection = duckdb.connect()
    connection.sql("LOAD delta")
    return connection


def usage_events(spark, warehouse: str) -> str:
    """Five days of events in each of four months; returns the table's path."""
    rows = [
        (f"e{m.month}-{day}", f"acc-{day % 3}", m.replace(day=day), dt.datetime(2024, m.month, day, 8, 30, 0, 250),
         day * 10, m)
        for m in MONTHS for day in range(1, 6)
    ]
    store = open_store(spark, warehouse, "embedded")
    store.stage(spark.createDataFrame(rows, SCHEMA), "staging", "usage_events", partition_by=["event_month"]).commit()
    return store.table_path("staging", "usage_events")


def scanned(connection, path: str, where: str) -> tuple[int, int, int]:
    """(files scanned, files in the table, rows matched) for ``SELECT ... WHERE where``."""
    plan = connection.sql(f"EXPLAIN ANALYZE SELECT * FROM delta_scan('{path}') WHERE {where}").fetchall()[0][1]
    read, total = map(int, re.search(r"Scanning Files: (\d+)/(\d+)", plan).groups())
    rows = connection.sql(f"SELECT count(*) FROM delta_scan('{path}') WHERE {where}").fetchone()[0]
    return read, total, rows


def test_duckdb_skips_files_on_a_partition_filter_and_on_an_event_date_filter(spark, tmp_path, duck):
    path = usage_events(spark, str(tmp_path / "wh"))
    assert len(DeltaTable(path).file_uris()) == 4
    assert scanned(duck, path, "event_month = DATE '2024-02-01'") == (1, 4, 5)
    assert scanned(duck, path, "event_date = DATE '2024-03-04'") == (1, 4, 1)
    assert scanned(duck, path, "event_date BETWEEN DATE '2024-01-03' AND DATE '2024-02-02'") == (2, 4, 5)
    assert scanned(duck, path, "event_date > DATE '2024-04-05'") == (0, 4, 0)
    assert scanned(duck, path, "quantity > 50") == (0, 4, 0)
    # DuckDB skips no file on a timestamp filter, whoever wrote the table; delta-rs's dataset does.
    late = pc.field("event_ts") >= pc.scalar(dt.datetime(2024, 4, 5, 8, 30, 0, 250, tzinfo=dt.timezone.utc))
    fragments = list(DeltaTable(path).to_pyarrow_dataset().get_fragments(filter=late))
    assert len(fragments) == 1 and "event_month=2024-04-01" in fragments[0].path


def test_without_column_statistics_every_file_is_read_for_an_event_date_filter(spark, tmp_path, duck, monkeypatch):
    # The control: numRecords only, as the embedded engine wrote before; partitions still prune.
    from novacrm_spark.store import _stats

    monkeypatch.setattr(_stats, "file_stats", lambda footer: f'{{"numRecords":{footer.num_rows}}}')
    path = usage_events(spark, str(tmp_path / "wh"))
    assert scanned(duck, path, "event_date = DATE '2024-03-04'") == (4, 4, 1)
    assert scanned(duck, path, "event_month = DATE '2024-02-01'") == (1, 4, 5)


def test_delta_rs_reads_the_statistics_and_lists_a_partitions_files(spark, tmp_path):
    path = usage_events(spark, str(tmp_path / "wh"))
    table = DeltaTable(path)
    assert len(table.file_uris(partition_filters=[("event_month", "=", "2024-02-01")])) == 1
    actions = sorted(pa.table(table.get_add_actions(flatten=True)).to_pylist(), key=lambda a: a["path"])
    february = actions[1]
    assert february["partition.event_month"] == dt.date(2024, 2, 1)
    assert (february["min.event_date"], february["max.event_date"]) == (dt.date(2024, 2, 1), dt.date(2024, 2, 5))
    assert (february["min.event_id"], february["max.event_id"]) == ("e2-1", "e2-5")
    assert (february["min.quantity"], february["max.quantity"]) == (10, 50)
    assert february["max.event_ts"] == dt.datetime(2024, 2, 5, 8, 30, 0, 1000, tzinfo=dt.timezone.utc)
    assert february["null_count.account_id"] == 0 and february["num_records"] == 5
    assert "min.event_month" not in february  # a partition column is not in the file statistics


def test_readers_find_every_row_at_the_edges_of_the_bounds(spark, tmp_path, duck):
    """Values at a file's bounds that the statistics round or cut (long strings, microseconds) are still found."""
    long_a, long_b = "k" * 32 + "a", "k" * 32 + TOP + "z"
    rows = [
        (1, long_a, dt.datetime(2024, 1, 1, 0, 0, 0, 1), decimal.Decimal("12345678901234567890.0123456789"), 1),
        (1, "k" * 32, dt.datetime(2024, 1, 1, 0, 0, 0, 999999), decimal.Decimal("-0.0000000001"), 2),
        (2, long_b, dt.datetime(2024, 2, 1, 12, 0, 0, 500), decimal.Decimal("7"), 3),
        (2, "k" * 31, dt.datetime(2024, 2, 1, 12, 0, 0, 499), decimal.Decimal("7.5"), 4),
    ]
    store = open_store(spark, str(tmp_path / "wh"), "embedded")
    store.stage(spark.createDataFrame(rows, EDGE_SCHEMA), "core", "edges", partition_by=["p"]).commit()
    path = store.table_path("core", "edges")
    assert store.read("core", "edges").count() == 4  # Spark reads the table as before
    frame, dataset = pl.scan_delta(path), DeltaTable(path).to_pyarrow_dataset()
    for _p, text, at, amount, n in rows:
        at = at.replace(tzinfo=dt.timezone.utc)
        decimal_type = pa.decimal128(38, 10)
        checks = {  # DuckDB's WHERE, polars' and delta-rs' (pyarrow dataset) filters
            "s": (f"s = '{text}'", pl.col("s") == text, pc.field("s") == text),
            "ts": (f"ts = TIMESTAMPTZ '{at.isoformat()}'", pl.col("ts") == at, pc.field("ts") == pc.scalar(at)),
            "amount": (f"amount = {amount}::DECIMAL(38,10)", pl.col("amount") == pl.lit(amount, pl.Decimal(38, 10)),
                       pc.field("amount") == pa.scalar(amount, decimal_type)),
        }
        for column, (where, polars_filter, arrow_filter) in checks.items():
            assert scanned(duck, path, where)[2:] == (1,), (column, where)
            assert frame.filter(polars_filter).select("n").collect().to_series().to_list() == [n], (column, n)
            assert dataset.to_table(filter=arrow_filter).column("n").to_pylist() == [n], (column, n)


def test_delta_spark_skips_files_of_the_embedded_engines_table_and_reads_every_row(spark, tmp_path):
    path = usage_events(spark, str(tmp_path / "wh"))
    filters = ["true", "event_month = '2024-02-01'", "event_date = '2024-03-04'", "quantity > 50",
               "event_ts >= '2024-04-05 08:30:00.00025'", "event_id = 'e4-5'", "account_id IS NULL"]
    done = subprocess.run([sys.executable, "-c", DELTA_SPARK_READ, path, json.dumps(filters)],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert read == [[20, 4], [5, 1], [1, 1], [0, 0], [1, 1], [1, 1], [0, 0]]
