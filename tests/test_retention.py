"""Retention from config as table properties: every table the embedded engine writes carries them.

(delta-spark's tables: tests/test_delta_spark.py.)
"""

from __future__ import annotations

import datetime as dt

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from novacrm_spark.retention import DEFAULT_PROPERTIES, DELETED_FILE_RETENTION, LOG_RETENTION
from novacrm_spark.store import open_store
from table_properties import assert_protocol, assert_run_table_metadata, run_tables

SHORT = {LOG_RETENTION: "interval 2 days", DELETED_FILE_RETENTION: "interval 1 hours"}


def test_every_table_of_a_run_carries_the_default_retention(built_warehouse):
    tables = run_tables(built_warehouse)
    layers = {p.parent.name for p in tables}
    assert {"staging", "core", "marts", "quarantine", "_meta"} <= layers
    for path in tables:
        assert_run_table_metadata(path)


@pytest.fixture
def frame(spark):
    return spark.range(6).select(F.col("id"), (F.col("id") % 2).alias("part"))


def configuration(store, layer: str, table: str) -> dict:
    return DeltaTable(store.table_path(layer, table)).metadata().configuration


def test_the_store_writes_its_properties_on_create_and_on_every_full_write(spark, tmp_path, frame):
    warehouse = str(tmp_path / "wh")
    first = open_store(spark, warehouse, "embedded", SHORT)
    first.overwrite(frame, "core", "t", description="a table")
    assert configuration(first, "core", "t") == SHORT
    first.overwrite(frame, "core", "t", description="a table")  # unchanged: a plain data commit
    assert configuration(first, "core", "t") == SHORT
    # Other settings: the next write replaces the properties (as CREATE OR REPLACE TABLE does), data and all.
    second = open_store(spark, warehouse, "embedded", DEFAULT_PROPERTIES)
    version = second.overwrite(frame.where("id < 3"), "core", "t", description="a table")
    table = DeltaTable(second.table_path("core", "t"))
    assert (version, table.metadata().configuration, table.metadata().description) == (2, DEFAULT_PROPERTIES, "a table")
    assert second.read("core", "t").count() == 3
    assert_protocol(table, 2)  # no constraints given


def test_a_partition_replace_keeps_the_tables_properties(spark, tmp_path, frame):
    store = open_store(spark, str(tmp_path / "wh"), "embedded", SHORT)
    store.overwrite(frame, "core", "p", partition_by=["part"])
    store.stage(frame.where("part = 1"), "core", "p", partition_by=["part"], replace_partitions=[1]).commit()
    assert configuration(store, "core", "p") == SHORT
    assert store.read("core", "p").count() == 6


def test_bookkeeping_tables_carry_them_too(spark, tmp_path):
    warehouse = str(tmp_path / "wh")
    open_store(spark, warehouse, "embedded").overwrite_rows([("a", 1)], "name string, n long", "_meta", "m")
    store = open_store(spark, warehouse, "embedded", SHORT)
    store.overwrite_rows([("a", 1)], "name string, n long", "_meta", "m")  # an older table gets them once
    assert configuration(store, "_meta", "m") == SHORT
    version = store.overwrite_rows([("b", 2)], "name string, n long", "_meta", "m")
    assert version == 3  # one write, no more extra commit
    store.replace_partition_rows([("r1", dt.date(2025, 1, 1))], "run string, day date", "_runs", "r", "run", "r1")
    assert configuration(store, "_runs", "r") == SHORT
