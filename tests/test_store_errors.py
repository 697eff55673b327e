"""The store's errors: a read-only or full warehouse, another writer's commit, a table name that is a path.

Each is one project error naming the table and its path, and leaves the table
as it was (read back with delta-rs) with no files of the refused write.
"""

import datetime as dt
import errno
import os
from decimal import Decimal

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from novacrm_spark.errors import CommitConflictError, SelectionError, WarehouseError
from novacrm_spark.store import embedded, open_store
from novacrm_spark.store._commit import Commit
from novacrm_spark.store.base import parse_table_name
from novacrm_spark.store.embedded import EmbeddedStore

SCHEMA = "account_id string, mrr decimal(18,2), signup date"
ROWS = [("ACC-1", Decimal("149.00"), dt.date(2024, 1, 15)), ("ACC-2", None, None)]


@pytest.fixture
def store(spark, tmp_path):
    return open_store(spark, str(tmp_path / "wh"), engine="embedded")


def table_state(path):
    """Version and rows of a table, read with delta-rs (not through the store under test)."""
    table = DeltaTable(str(path))
    return table.version(), sorted(table.to_pyarrow_table().column("account_id").to_pylist(), key=str)


def unreferenced_files(path):
    """Files in the table folder that no version of its log references: what a refused write left."""
    versions = range(DeltaTable(str(path)).version() + 1)
    referenced = {os.path.basename(uri) for v in versions for uri in DeltaTable(str(path), version=v).file_uris()}
    present = {name for folder, _, names in os.walk(path) if "_delta_log" not in folder for name in names}
    return present - referenced


@pytest.mark.parametrize(
    "code, problem",
    [(errno.ENOSPC, "no space left on device"), (errno.EROFS, "read-only file system"), (errno.EACCES, "permission denied")],
)
def test_an_os_error_while_staging_names_the_table_and_path(spark, store, monkeypatch, code, problem):
    df = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(df, "core", "t")
    path = store.table_path("core", "t")
    before, files_before = table_state(path), set(os.listdir(path))

    def refuse(*_args):  # the driver moving Spark's files into the table meets the OS error
        raise OSError(code, os.strerror(code), os.path.join(path, "part-x.parquet"))

    monkeypatch.setattr(embedded, "adopt_spark_output", refuse)
    with pytest.raises(WarehouseError) as raised:
        store.stage(df, "core", "t")

    assert str(raised.value) == f"cannot write table core.t at {path}: {problem}; the table is unchanged"
    assert table_state(path) == before
    assert set(os.listdir(path)) == files_before


def test_a_full_disk_inside_a_spark_write_is_named(spark, store):
    # What the JVM reports when the executors' Parquet writer meets a full disk.
    df = spark.createDataFrame(ROWS, SCHEMA).withColumn(
        "account_id", F.coalesce(F.raise_error(F.lit("java.io.IOException: No space left on device")), "account_id")
    )
    path = store.table_path("core", "t")

    with pytest.raises(WarehouseError, match=rf"^cannot write table core\.t at {path}: no space left on device; "):
        store.stage(df, "core", "t")
    assert not DeltaTable.is_deltatable(path)
    assert os.listdir(path) == []  # the scratch folder is gone too


def test_other_spark_failures_keep_their_own_error(spark, store):
    df = spark.createDataFrame(ROWS, SCHEMA).withColumn("account_id", F.coalesce(F.raise_error(F.lit("boom")), "account_id"))
    with pytest.raises(Exception, match="boom") as raised:
        store.stage(df, "core", "t")
    assert not isinstance(raised.value, WarehouseError)


def test_an_os_error_from_delta_rs_at_commit_leaves_the_table_and_no_files(spark, store, monkeypatch):
    df = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(df, "core", "t")
    path = store.table_path("core", "t")
    before, files_before = table_state(path), set(os.listdir(path))
    staged = store.stage(df.where("account_id = 'ACC-1'"), "core", "t")

    def full(*_args, **_kwargs):  # delta-rs's OSError carries no errno, only the OS's text
        raise OSError("Generic LocalFileSystem error\n  Unable to copy data to file\n  No space left on device (os error 28)")

    monkeypatch.setattr(DeltaTable, "create_write_transaction", full)
    with pytest.raises(WarehouseError, match=rf"^cannot write table core\.t at {path}: no space left on device; "):
        staged.commit()
    assert table_state(path) == before
    assert set(os.listdir(path)) == files_before


def test_a_commit_after_another_writers_is_refused_and_leaves_theirs(spark, store):
    df = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(df, "core", "t")
    path = store.table_path("core", "t")
    other = EmbeddedStore(spark, store.warehouse)  # a second writer, e.g. another run
    ours = store.stage(df.where("account_id = 'ACC-1'"), "core", "t")
    assert other.overwrite(df.where("account_id = 'ACC-2'"), "core", "t") == 1
    theirs = table_state(path)
    assert len(unreferenced_files(path)) == 1  # our staged file

    with pytest.raises(CommitConflictError) as raised:
        ours.commit()

    assert str(raised.value) == (
        f"table core.t at {path} was changed by another writer: it committed version 1 after this run "
        "read version 0; this run's write was not published, run it again"
    )
    assert table_state(path) == theirs == (1, ["ACC-2"])
    assert unreferenced_files(path) == set()  # our file is gone


def test_two_writers_creating_the_same_table_the_second_is_refused(spark, store):
    df = spark.createDataFrame(ROWS, SCHEMA)
    ours = store.stage(df.where("account_id = 'ACC-1'"), "core", "new")
    EmbeddedStore(spark, store.warehouse).overwrite(df.where("account_id = 'ACC-2'"), "core", "new")

    with pytest.raises(CommitConflictError, match="it committed version 0 after this run found no table"):
        ours.commit()
    assert table_state(store.table_path("core", "new")) == (0, ["ACC-2"])
    assert unreferenced_files(store.table_path("core", "new")) == set()


def test_a_commit_racing_another_is_refused_by_delta_rs(spark, store, monkeypatch):
    # The other writer commits between our check and our transaction: delta-rs's own conflict check.
    df = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(df, "core", "t")
    ours = store.stage(df.where("account_id = 'ACC-1'"), "core", "t")
    EmbeddedStore(spark, store.warehouse).overwrite(df.where("account_id = 'ACC-2'"), "core", "t")
    monkeypatch.setattr(Commit, "check", lambda self: None)

    with pytest.raises(CommitConflictError, match=r"^table core\.t at .* it committed version 1 after this run read version 0"):
        ours.commit()
    assert table_state(store.table_path("core", "t")) == (1, ["ACC-2"])
    assert unreferenced_files(store.table_path("core", "t")) == set()


def test_a_partition_replace_after_another_writers_commit_is_refused(spark, store):
    jan, feb = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
    df = spark.createDataFrame([("ACC-1", jan), ("ACC-2", feb)], "account_id string, m date")
    store.overwrite(df, "core", "p", partition_by=["m"])
    ours = store.stage(df.where(F.col("m") == feb).withColumn("account_id", F.lit("ACC-3")), "core", "p",
                       partition_by=["m"], replace_partitions=[feb])
    EmbeddedStore(spark, store.warehouse).overwrite(df.where(F.col("m") == jan), "core", "p", partition_by=["m"])

    with pytest.raises(CommitConflictError, match=r"^table core\.p at .* it committed version 1 after this run read version 0"):
        ours.commit()
    assert table_state(store.table_path("core", "p")) == (1, ["ACC-1"])
    assert unreferenced_files(store.table_path("core", "p")) == set()


def test_publish_checks_every_write_before_committing_any(spark, store):
    df = spark.createDataFrame(ROWS, SCHEMA)
    for name in ("a", "b"):
        store.overwrite(df, "core", name)
    ours = [store.stage(df.where("account_id = 'ACC-1'"), "core", name) for name in ("a", "b")]
    EmbeddedStore(spark, store.warehouse).overwrite(df.where("account_id = 'ACC-2'"), "core", "b")

    with pytest.raises(CommitConflictError, match=r"^table core\.b at "):
        store.publish(ours)
    # core.a comes first but was not committed either: a run publishes all of its tables or none.
    assert table_state(store.table_path("core", "a")) == (0, ["ACC-1", "ACC-2"])
    assert table_state(store.table_path("core", "b")) == (1, ["ACC-2"])


def test_publish_commits_in_order_and_returns_the_versions(spark, store):
    df = spark.createDataFrame(ROWS, SCHEMA)
    store.overwrite(df, "core", "a")
    assert store.publish([store.stage(df, "core", "a"), store.stage(df, "core", "b")]) == [1, 0]
    assert store.publish([]) == []


@pytest.mark.parametrize("text", ["../../etc", "staging/../../etc", "bogus.x", "core..x", "core.", ".x", "a b", ""])
def test_a_table_name_must_be_name_or_layer_dot_name(text):
    with pytest.raises(SelectionError, match=r"^table must be NAME or LAYER\.NAME with LAYER one of staging, core"):
        parse_table_name(text)


def test_table_names_that_are_accepted():
    assert parse_table_name("quarantine.accounts") == ("quarantine", "accounts")
    assert parse_table_name("churn_risk_view") == (None, "churn_risk_view")


# --- the delta-spark engine: its JVM classes are not in the test session, so the Delta side is injected ---


@pytest.fixture
def delta_spark_store(spark, tmp_path, monkeypatch):
    """A delta-spark store whose table versions are ``versions`` (one per call) and whose save is ``saves``."""
    from pyspark.sql import DataFrameWriter, DataFrameWriterV2

    from novacrm_spark.store.delta_spark import DeltaSparkStore

    store = DeltaSparkStore(spark, str(tmp_path / "wh"))
    calls = {"versions": [], "save": None}
    monkeypatch.setattr(store, "version", lambda layer, table: calls["versions"].pop(0))
    monkeypatch.setattr(store, "exists", lambda layer, table: False)
    monkeypatch.setattr(DataFrameWriter, "save", lambda self, path: calls["save"](path))
    # A full overwrite is CREATE OR REPLACE TABLE delta.`path` AS SELECT.
    monkeypatch.setattr(DataFrameWriterV2, "createOrReplace", lambda self: calls["save"](None))
    return store, calls


def test_delta_spark_refuses_a_commit_after_another_writers(spark, delta_spark_store):
    store, calls = delta_spark_store
    calls["versions"] = [3, 4, 4]  # staged at 3; at commit the table is at 4
    calls["save"] = lambda path: pytest.fail("must not write over another writer's version")
    staged = store.stage(spark.createDataFrame(ROWS, SCHEMA), "core", "t")

    with pytest.raises(CommitConflictError, match=r"^table core\.t at .*/wh/core/t was changed by another writer: "
                                                  r"it committed version 4 after this run read version 3;"):
        staged.commit()


def staged_save_raising(spark, delta_spark_store, versions: list, error: Exception):
    """A delta-spark write staged with ``versions`` reported for the table, whose save raises ``error``."""
    store, calls = delta_spark_store
    calls["versions"] = versions

    def failing(path):
        raise error

    calls["save"] = failing
    return store.stage(spark.createDataFrame(ROWS, SCHEMA), "core", "t")


def test_delta_spark_conflict_exceptions_become_one_line(spark, delta_spark_store):
    from delta.exceptions import ConcurrentAppendException

    # Delta's own check fails the commit racing another writer's
    racing = ConcurrentAppendException(message="Files were added to the root of the table by a concurrent update.")
    staged = staged_save_raising(spark, delta_spark_store, [3, 3, 4], racing)

    with pytest.raises(CommitConflictError, match=r"^table core\.t at .* it committed version 4 after this run read version 3"):
        staged.commit()


def test_delta_spark_full_disk_is_named(spark, delta_spark_store):
    from pyspark.errors import PySparkException

    full = PySparkException(message="[TASK_WRITE_FAILED] ... Caused by: java.io.IOException: No space left on device")
    staged = staged_save_raising(spark, delta_spark_store, [None, None], full)

    with pytest.raises(WarehouseError, match=r"^cannot write table core\.t at .*/wh/core/t: no space left on device; "):
        staged.commit()


def test_a_table_folder_is_one_folder_inside_its_layer(store):
    assert store.table_path("core", "my-table") == f"{store.warehouse}/core/my-table"  # placed by hand; served too
    for bad in ("..", "../marts", ".hidden", "a/b", ""):
        with pytest.raises(ValueError, match="not a table"):
            store.table_path("core", bad)
    with pytest.raises(ValueError, match="not a table"):
        store.table_path("..", "x")


@pytest.mark.parametrize("engine", ["auto", "embedded"])
def test_the_embedded_engine_refuses_object_storage_when_it_opens(spark, engine):
    from novacrm_spark.errors import ConfigError
    from novacrm_spark.store import open_store

    with pytest.raises(ConfigError, match="^the embedded engine writes local or mounted folders only, and "
                                          "s3a://lake/wh is object storage: use engine delta-spark"):
        open_store(spark, "s3a://lake/wh", engine)
