"""The embedded Delta store: round trips, versions, atomic failure, interop with delta-rs."""

import datetime as dt
import os
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable
from pyspark.sql import functions as F

from novacrm_spark.errors import TableNotFoundError
from novacrm_spark.store import embedded, open_store
from novacrm_spark.store.base import StoreError
from novacrm_spark.store.embedded import EmbeddedStore

SCHEMA = "account_id string, mrr decimal(18,2), signup date, seen_at timestamp, tags array<string>, active boolean"
ROWS = [
    ("ACC-1", Decimal("149.00"), dt.date(2024, 1, 15), dt.datetime(2024, 1, 15, 9, 30), ["a", "b"], True),
    ("ACC-2", None, None, None, None, None),
]


@pytest.fixture
def store(spark, tmp_path):
    return open_store(spark, str(tmp_path / "wh"), engine="embedded")


def test_auto_engine_is_embedded_without_the_jvm_connector(spark, tmp_path):
    assert isinstance(open_store(spark, str(tmp_path), engine="auto"), EmbeddedStore)


def test_round_trip_keeps_rows_and_types(spark, store):
    df = spark.createDataFrame(ROWS, SCHEMA)
    assert store.overwrite(df, "core", "t") == 0
    assert_df_equality(store.read("core", "t"), df, ignore_nullable=True, ignore_row_order=True)


def test_tables_are_standard_delta_readable_by_delta_rs(spark, store):
    store.overwrite(spark.createDataFrame(ROWS, SCHEMA), "core", "t")
    table = DeltaTable(store.table_path("core", "t")).to_pyarrow_table()
    assert sorted(table.column("account_id").to_pylist()) == ["ACC-1", "ACC-2"]
    assert str(table.schema.field("mrr").type) == "decimal128(18, 2)"


def test_overwrite_keeps_previous_version_readable(spark, store):
    first = spark.createDataFrame(ROWS, SCHEMA)
    second = first.where("account_id = 'ACC-1'")
    store.overwrite(first, "core", "t")
    assert store.overwrite(second, "core", "t") == 1
    assert store.version("core", "t") == 1
    assert_df_equality(store.read("core", "t"), second, ignore_nullable=True)
    assert_df_equality(store.read("core", "t", version=0), first, ignore_nullable=True, ignore_row_order=True)


def test_failing_write_leaves_the_table_at_its_previous_version(spark, store):
    good = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(good, "core", "t")
    files_before = set(os.listdir(store.table_path("core", "t")))
    # Fails inside the executors, after some partitions may have been written.
    bad = good.repartition(2).withColumn(
        "account_id", F.when(F.col("account_id") == "ACC-2", F.raise_error(F.lit("boom"))).otherwise(F.col("account_id"))
    )
    with pytest.raises(Exception, match="boom"):
        store.overwrite(bad, "core", "t")
    assert store.version("core", "t") == 0
    assert_df_equality(store.read("core", "t"), good, ignore_nullable=True, ignore_row_order=True)
    assert set(os.listdir(store.table_path("core", "t"))) == files_before  # no orphan files


def test_staged_write_is_invisible_until_commit_and_abort_discards_it(spark, store):
    first = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(first, "core", "t")
    staged = store.stage(first.where("account_id = 'ACC-1'"), "core", "t")
    assert staged.num_rows == 1
    assert staged.dataframe.count() == 1  # the staged files can be audited...
    assert store.read("core", "t").count() == 2  # ...while readers still see version 0
    staged.abort()
    assert store.version("core", "t") == 0
    with pytest.raises(RuntimeError):
        staged.commit()


def test_schema_change_and_empty_table(spark, store):
    store.overwrite(spark.createDataFrame(ROWS, SCHEMA), "core", "t")
    narrower = spark.createDataFrame([], "account_id string, score int")
    store.overwrite(narrower, "core", "t")
    assert_df_equality(store.read("core", "t"), narrower, ignore_nullable=True)


def test_reading_a_missing_table_names_it(store):
    with pytest.raises(TableNotFoundError, match="core.nope"):
        store.read("core", "nope")


def test_column_comments_are_stored_in_the_delta_schema(spark, store):
    df = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(df, "core", "t", column_comments={"mrr": "Monthly recurring revenue"})
    field = store.read("core", "t").schema["mrr"]
    assert field.metadata.get("comment") == "Monthly recurring revenue"


def test_observed_metrics_are_computed_by_the_write(spark, store):
    df = spark.createDataFrame(ROWS, SCHEMA)
    staged = store.stage(
        df, "core", "t",
        observe=[F.count_if(F.col("mrr").isNull()).alias("missing_mrr"), F.count(F.lit(1)).alias("rows")],
    )
    assert staged.metrics == {"missing_mrr": 1, "rows": 2}
    assert store.stage(df, "core", "t").metrics == {}  # nothing asked, nothing observed


def test_a_write_whose_files_do_not_hold_its_rows_is_refused(spark, store, monkeypatch):
    df = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(df, "core", "t")
    files_before = set(os.listdir(store.table_path("core", "t")))
    adopt = embedded.adopt_spark_output
    # A store fault: one file taken twice, so the files would hold more rows than were written.
    monkeypatch.setattr(embedded, "adopt_spark_output", lambda *args: (lambda f: f + f[:1])(adopt(*args)))

    with pytest.raises(StoreError, match=r"core\.t: the write produced 2 rows but the 2 file\(s\) it left hold 4"):
        store.stage(df.coalesce(1), "core", "t")
    assert store.version("core", "t") == 0
    assert set(os.listdir(store.table_path("core", "t"))) == files_before  # its files are gone


def test_spark_writes_into_the_warehouse_leave_no_checksum_side_files(spark, store, tmp_path):
    # Spark's output for a staged write is moved into the table and its bookkeeping dropped;
    # Hadoop's .crc side files would only cost a file (and a chmod process) each.
    from novacrm_spark.store.embedded import NO_CHECKSUM_FILES

    out = tmp_path / "wh" / "plain"
    spark.createDataFrame(ROWS, SCHEMA).write.options(**NO_CHECKSUM_FILES).parquet(str(out))  # as the store writes
    assert list(out.glob("*.parquet")) and not list(out.rglob("*.crc"))

