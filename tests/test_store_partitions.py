"""Partitioned writes and atomic partition replaces of the embedded store (delta-rs commits)."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable

from novacrm_spark.store import StoreError, open_store
from novacrm_spark.store.delta_spark import replace_where

SCHEMA = "id int, v string, m date"
JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)


@pytest.fixture
def store(spark, tmp_path):
    return open_store(spark, str(tmp_path / "wh"), "embedded")


@pytest.fixture
def table(spark, store):
    """core.t partitioned by m: Jan (1), Feb (2) and a null month (3), at version 0."""
    rows = [(1, "a", JAN), (2, "b", FEB), (3, "c", None)]
    store.stage(spark.createDataFrame(rows, SCHEMA), "core", "t", partition_by=["m"]).commit()
    return store.table_path("core", "t")


def log_actions(path: str, version: int) -> list[dict]:
    with open(os.path.join(path, "_delta_log", f"{version:020d}.json"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_partitioned_write_lays_out_hive_folders_and_reads_back_typed(spark, store, table):
    assert DeltaTable(table).metadata().partition_columns == ["m"]
    assert {d for d in os.listdir(table) if d.startswith("m=")} == {
        "m=2024-01-01", "m=2024-02-01", "m=__HIVE_DEFAULT_PARTITION__"}
    adds = [a["add"] for a in log_actions(table, 0) if "add" in a]
    assert sorted(str(a["partitionValues"]["m"]) for a in adds) == ["2024-01-01", "2024-02-01", "None"]
    expected = spark.createDataFrame([(1, "a", JAN), (2, "b", FEB), (3, "c", None)], SCHEMA)
    read = store.read("core", "t")
    assert read.columns == ["id", "v", "m"] and dict(read.dtypes)["m"] == "date"
    assert_df_equality(read, expected, ignore_row_order=True, ignore_nullable=True)


def test_each_partition_is_written_by_one_task(spark, store):
    # Both months have rows in each of four Spark partitions: without clustering the
    # rows by month first, every task would write its own file into both folders.
    rows = spark.createDataFrame([(i, "x", JAN if i % 2 else FEB) for i in range(40)], SCHEMA).repartition(4)
    staged = store.stage(rows, "core", "clustered", partition_by=["m"])
    staged.commit()
    adds = [a["add"] for a in log_actions(store.table_path("core", "clustered"), 0) if "add" in a]
    assert sorted(a["partitionValues"]["m"] for a in adds) == ["2024-01-01", "2024-02-01"]
    assert staged.num_rows == 40


def test_replace_partitions_is_one_commit_of_removes_and_adds(spark, store, table):
    new = spark.createDataFrame([(4, "d", FEB), (5, "e", MAR)], SCHEMA)
    staged = store.stage(new, "core", "t", partition_by=["m"], replace_partitions=[FEB, MAR])
    expected = spark.createDataFrame([(1, "a", JAN), (3, "c", None), (4, "d", FEB), (5, "e", MAR)], SCHEMA)
    # Before the commit: readers see version 0; the staged view is the table as the commit leaves it.
    assert store.version("core", "t") == 0
    assert store.read("core", "t").count() == 3
    assert_df_equality(staged.dataframe, expected, ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(staged.written, new, ignore_row_order=True, ignore_nullable=True)
    assert staged.num_rows == 2
    assert staged.commit() == 1
    actions = log_actions(table, 1)
    removes = [a["remove"] for a in actions if "remove" in a]
    assert [r["partitionValues"] for r in removes] == [{"m": "2024-02-01"}]
    assert len([a for a in actions if "add" in a]) == 2
    assert_df_equality(store.read("core", "t"), expected, ignore_row_order=True, ignore_nullable=True)
    assert store.read("core", "t", version=0).count() == 3  # time travel still sees the old month


def test_replace_a_null_partition(spark, store, table):
    new = spark.createDataFrame([(6, "f", None)], SCHEMA)
    store.stage(new, "core", "t", partition_by=["m"], replace_partitions=[None]).commit()
    assert sorted(r.id for r in store.read("core", "t").collect()) == [1, 2, 6]


def table_files(path: str) -> list[str]:
    return sorted(os.path.relpath(uri.removeprefix("file://"), path) for uri in DeltaTable(path).file_uris())


def test_aborted_replace_leaves_table_and_files_as_they_were(spark, store, table):
    files_before = table_files(table)
    staged = store.stage(spark.createDataFrame([(7, "g", JAN)], SCHEMA), "core", "t",
                         partition_by=["m"], replace_partitions=[JAN])
    staged.abort()
    assert store.version("core", "t") == 0
    assert table_files(table) == files_before
    on_disk = {os.path.relpath(os.path.join(d, f), table) for d, _, fs in os.walk(table) if "_delta_log" not in d
               for f in fs}
    assert set(files_before) == on_disk  # the aborted write's files are gone


def test_rows_outside_the_replaced_partitions_are_refused(spark, store, table):
    rows = spark.createDataFrame([(8, "h", JAN), (9, "i", MAR)], SCHEMA)
    with pytest.raises(StoreError, match="m=2024-01-01.*not among the partitions being replaced"):
        store.stage(rows, "core", "t", partition_by=["m"], replace_partitions=[MAR])
    assert store.version("core", "t") == 0
    assert not any(name.endswith(".parquet") for name in os.listdir(os.path.join(table, "m=2024-03-01")))


def test_replace_needs_the_same_partitioning_and_schema(spark, store, table):
    with pytest.raises(StoreError, match="partitioned by \\['m'\\], not \\['v'\\]"):
        store.stage(spark.createDataFrame([(1, "a", JAN)], SCHEMA), "core", "t",
                    partition_by=["v"], replace_partitions=["a"])
    other = spark.createDataFrame([(1, "a", JAN, 1.0)], SCHEMA + ", x double")
    with pytest.raises(StoreError, match="schema differs"):
        store.stage(other, "core", "t", partition_by=["m"], replace_partitions=[JAN])


def test_replace_on_a_new_table_creates_it(spark, store):
    rows = spark.createDataFrame([(1, "a", JAN)], SCHEMA)
    assert store.stage(rows, "core", "fresh", partition_by=["m"], replace_partitions=[JAN]).commit() == 0
    assert store.read("core", "fresh").count() == 1


def test_a_full_overwrite_can_change_partitioning(spark, store, table):
    rows = spark.createDataFrame([(1, "a", JAN)], SCHEMA)
    store.stage(rows, "core", "t").commit()
    assert DeltaTable(table).metadata().partition_columns == []
    assert_df_equality(store.read("core", "t"), rows, ignore_nullable=True)


def test_replace_where_condition_for_delta_spark():
    assert replace_where(["m"], {("2024-02-01",), (None,)}) == "(m <=> NULL) OR (m <=> '2024-02-01')"
    assert replace_where(["m"], set()) == "false"
