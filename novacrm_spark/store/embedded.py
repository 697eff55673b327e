"""The embedded engine: Spark executors write Parquet, delta-rs commits on the driver.

No table passes through the driver: Spark's own Parquet writer runs in the
executors (no Python workers), into a scratch folder inside the table folder
(``_staging/<write id>/``, under ``<column>=<value>/`` when the table is
partitioned; the rows of a partition value are gathered first, so each
partition gets one file, or a few when it is very large). The driver then
moves the files into the table folder, reads only their footers (row
counts; their sum must equal the rows the write produced, counted as it
ran), turns them into Delta ``add`` actions and commits them in one
transaction with delta-rs, so a version appears whole or not at all. Files
of a write that failed or was aborted are never referenced by the log, and
are removed.

A partition replace (``stage(..., partition_by=[...], replace_partitions=[...])``)
commits, in one transaction, ``remove`` actions for every file of the replaced
partitions in the snapshot it started from plus the ``add`` actions of the new
files: readers see all the old partitions or all the new ones.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote, unquote

import pyarrow as pa
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from novacrm_spark.errors import TableNotFoundError
from novacrm_spark.frames import as_nullable, constant_frame
from novacrm_spark.store._partitions import (
    WrittenFile,
    adopt_spark_output,
    normalise_partitions,
    partition_dir,
    partition_value,
    remove_files_of_write,
    scratch_dir,
)
from novacrm_spark.store.base import StagedWrite, StoreError, TableStore

# Delta stores timestamps as Parquet INT64 microseconds (Spark's default is the legacy INT96).
TIMESTAMP_TYPE_CONF = "spark.sql.parquet.outputTimestampType"
# The rows a write produced, counted while it ran (an observed metric of every write).
ROWS_PRODUCED = "_rows_produced"


class EmbeddedStore(TableStore):
    """Delta tables on a local or shared filesystem, written without Delta's JVM connector."""

    engine = "embedded"
    recomputes_input = False  # stage() writes the Parquet files; the commit only logs them

    def __init__(self, spark: SparkSession, warehouse: str) -> None:
        super().__init__(spark, warehouse)
        # For the session, not per write: models written side by side must not race on it.
        spark.conf.set(TIMESTAMP_TYPE_CONF, "TIMESTAMP_MICROS")
        _write_no_checksum_files(spark, warehouse)

    def exists(self, layer: str, table: str) -> bool:
        return DeltaTable.is_deltatable(self.table_path(layer, table))

    def version(self, layer: str, table: str) -> int | None:
        if not self.exists(layer, table):
            return None
        return DeltaTable(self.table_path(layer, table)).version()

    def read(self, layer: str, table: str, version: int | None = None) -> DataFrame:
        path = self.table_path(layer, table)
        if not self.exists(layer, table):
            raise TableNotFoundError(f"table {layer}.{table} does not exist at {path}; build it first")
        snapshot = DeltaTable(path, version=version)
        return self._read_files(path, _spark_schema(snapshot), _partition_columns(snapshot), snapshot.file_uris())

    def _read_files(
        self, path: str, schema: StructType, partition_by: Sequence[str], files: Sequence[str]
    ) -> DataFrame:
        """Parquet files of this table as ``schema``; partition columns come back from the folder names."""
        if not files:
            return constant_frame(self.spark, schema)
        reader = self.spark.read.schema(schema)
        if partition_by:
            # basePath makes Spark parse `col=value/` folders; the given schema types them (e.g. date).
            reader = reader.option("basePath", path)
        return reader.parquet(*files).select(*schema.fieldNames())

    def stage(
        self,
        df: DataFrame,
        layer: str,
        table: str,
        description: str | None = None,
        column_comments: Mapping[str, str] | None = None,
        partition_by: Sequence[str] | None = None,
        replace_partitions: Iterable[Any] | None = None,
        observe: Sequence[Column] = (),
    ) -> StagedWrite:
        path = self.table_path(layer, table)
        os.makedirs(path, exist_ok=True)
        columns = list(partition_by or [])
        spark_schema = as_nullable(df.schema)
        arrow_schema = _with_comments(to_arrow_schema(spark_schema), column_comments or {})
        delta_schema = DeltaSchema.from_arrow(arrow_schema)
        base = None
        if replace_partitions is not None:
            replace = normalise_partitions(columns, replace_partitions)
            base = _ReplaceBase.of(path, f"{layer}.{table}", columns, replace, delta_schema)
        write_id = uuid.uuid4().hex
        observed, observation = self.observed(df, [*observe, F.count(F.lit(1)).alias(ROWS_PRODUCED)])
        try:
            files = self._write_parquet(observed, path, columns, write_id)
            metrics = dict(observation.get)
            _check_rows_adopted(f"{layer}.{table}", metrics.pop(ROWS_PRODUCED), files)
            if base is not None:
                base.check_files(files)
        except BaseException:
            remove_files_of_write(path, write_id)  # never referenced by the log; tidy up
            raise
        written = self._read_files(path, spark_schema, columns, [os.path.join(path, f.path) for f in files])
        adds = [_add_action(f) for f in files]
        if base is not None and base.snapshot is not None:
            # Readers of the staged write see the table as it will be: kept files + the new ones.
            kept = [os.path.join(path, unquote(p)) for p in base.kept_paths]
            staged_df = self._read_files(path, spark_schema, columns, kept + [os.path.join(path, f.path) for f in files])
        else:
            staged_df = written

        def commit() -> int:
            if base is not None and base.snapshot is not None:
                # One transaction: remove the replaced partitions' files, add the new ones.
                base.snapshot.create_write_transaction(
                    [*base.removes(), *adds], mode="append", schema=delta_schema, partition_by=columns or None
                )
                return DeltaTable(path).version()
            return _overwrite(path, table, adds, delta_schema, columns, description)

        return StagedWrite(
            dataframe=staged_df,
            num_rows=sum(f.num_records for f in files),
            _commit=commit,
            _abort=lambda: remove_files_of_write(path, write_id),
            written=written,
            metrics=metrics,
        )


    def _write_parquet(self, df: DataFrame, path: str, columns: list[str], write_id: str) -> list[WrittenFile]:
        """Spark's own Parquet writer, run by the executors; then the files are moved into the table."""
        scratch = scratch_dir(path, write_id)
        if columns:
            # Rows of a partition value go to one task (AQE splits a skewed one), so each
            # partition gets one or a few files instead of one per task.
            df = df.hint("rebalance", *columns)
        writer = df.write.mode("errorifexists").option("compression", "snappy")
        if columns:
            writer = writer.partitionBy(*columns)
        writer.parquet(scratch)
        return adopt_spark_output(path, scratch, write_id, columns)


class _ReplaceBase:
    """The published snapshot a partition replace starts from: which files it removes and keeps."""

    def __init__(self, snapshot: DeltaTable | None, name: str, columns: list[str], replace: set) -> None:
        self.snapshot = snapshot
        self.name = name
        self.columns = columns
        self.replace = replace
        self.removed: list[tuple[str, int, dict]] = []
        self.kept_paths: list[str] = []
        if snapshot is not None:
            self._split_files()

    @classmethod
    def of(cls, path: str, name: str, columns: list[str], replace: set, schema: DeltaSchema) -> "_ReplaceBase":
        if not columns:
            raise StoreError(f"{name}: replacing partitions needs partition_by columns")
        if not DeltaTable.is_deltatable(path):
            return cls(None, name, columns, replace)  # first write: the new files are the whole table
        snapshot = DeltaTable(path)
        if _partition_columns(snapshot) != columns:
            raise StoreError(
                f"{name}: cannot replace partitions: the table is partitioned by "
                f"{_partition_columns(snapshot) or 'nothing'}, not {columns}; run a full build"
            )
        if snapshot.schema().to_json() != schema.to_json():
            raise StoreError(f"{name}: cannot replace partitions: the new rows' schema differs from the table's; "
                             "run a full build")
        return cls(snapshot, name, columns, replace)

    def _split_files(self) -> None:
        actions = pa.table(self.snapshot.get_add_actions(flatten=False)).to_pylist()
        for action in actions:
            values = action.get("partition") or {}
            key = tuple(partition_value(values.get(c)) for c in self.columns)
            if key in self.replace:
                text_values = dict(zip(self.columns, key))
                self.removed.append((action["path"], action["size_bytes"], text_values))
            else:
                self.kept_paths.append(action["path"])

    def check_files(self, files) -> None:
        """Every new file must fall in a replaced partition, or it would duplicate a kept one's rows."""
        for f in files:
            key = tuple(f.partition_values.get(c) for c in self.columns)
            if key not in self.replace:
                raise StoreError(
                    f"{self.name}: staged rows fall in partition {partition_dir(self.columns, key)}, "
                    "which is not among the partitions being replaced"
                )

    def removes(self) -> list[RemoveAction]:
        # deletion_timestamp is log bookkeeping (vacuum retention), not table data.
        now = int(time.time() * 1000)
        return [
            RemoveAction(path=p, data_change=True, deletion_timestamp=now, size=size, partition_values=values)
            for p, size, values in self.removed
        ]


def _check_rows_adopted(table: str, produced: int, files: list[WrittenFile]) -> None:
    """The adopted files hold exactly the rows the write produced (a file lost or taken twice fails)."""
    held = sum(f.num_records for f in files)
    if held != produced:
        raise StoreError(
            f"{table}: the write produced {produced:,} rows but the {len(files)} file(s) it left hold {held:,}; "
            "nothing was published"
        )


def _write_no_checksum_files(spark: SparkSession, warehouse: str) -> None:
    """Stop Hadoop writing a ``.crc`` side file next to each file Spark writes into the warehouse.

    adopt_spark_output discards them (Delta tables have none), and without Hadoop's
    native library each one costs a ``chmod`` process: about 120 per large build,
    and about 60 ms less per write measured. A no-op for filesystems without
    client-side checksums. The filesystem object is shared by the JVM, so other
    local writes of this session skip them too.
    """
    jvm = spark.sparkContext._jvm
    fs = jvm.org.apache.hadoop.fs.Path(warehouse).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    fs.setWriteChecksum(False)


def _spark_schema(snapshot: DeltaTable) -> StructType:
    # Delta's schema serialisation is Spark's StructType JSON.
    return StructType.fromJson(json.loads(snapshot.schema().to_json()))


def _partition_columns(snapshot: DeltaTable) -> list[str]:
    return list(snapshot.metadata().partition_columns)


def _add_action(f: WrittenFile) -> AddAction:
    return AddAction(
        # Delta log paths are URIs: a partition value's Hive escape (%3A) is escaped once more.
        path=quote(f.path, safe="/="),
        size=f.size,
        partition_values=f.partition_values,
        modification_time=f.modification_time,
        data_change=True,
        stats=json.dumps({"numRecords": f.num_records}),
    )


def _overwrite(
    path: str, table: str, adds: list[AddAction], schema: DeltaSchema, columns: list[str], description: str | None
) -> int:
    """Commit ``adds`` as the whole new version of the table."""
    if DeltaTable.is_deltatable(path):
        current = DeltaTable(path)
        # Same schema (column comments included), partitioning and description: a plain data commit.
        same_metadata = (
            current.metadata().description == description
            and _partition_columns(current) == columns
            and current.schema().to_json() == schema.to_json()
        )
        if same_metadata:
            current.create_write_transaction(adds, mode="overwrite", schema=schema, partition_by=columns or None)
            return DeltaTable(path).version()
    # New table, or a schema, partitioning or description change: replace the metadata in the same commit.
    create_table_with_add_actions(
        path, schema, adds, mode="overwrite", partition_by=columns or None, name=table, description=description
    )
    return DeltaTable(path).version()


def _with_comments(schema: pa.Schema, comments: Mapping[str, str]) -> pa.Schema:
    """Attach column descriptions as Delta column comments (field metadata ``comment``)."""
    fields = [
        field.with_metadata({"comment": comments[field.name]}) if field.name in comments else field
        for field in schema
    ]
    return pa.schema(fields)
