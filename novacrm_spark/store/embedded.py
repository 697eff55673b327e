"""The embedded engine: Spark executors write Parquet, delta-rs commits on the driver.

No table passes through the driver: each task writes the Parquet files of its
partition with pyarrow and returns only their metadata (path, size, row
count). The driver turns that metadata into Delta ``add`` actions and commits
them in one transaction with delta-rs, so a version appears whole or not at all.
Files of a write that failed or was aborted are never referenced by the log.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Iterator, Mapping

import pyarrow as pa
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, create_table_with_add_actions
from pyspark.sql import DataFrame
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import ArrayType, DataType, MapType, StructField, StructType

from novacrm_spark.errors import TableNotFoundError
from novacrm_spark.store.base import StagedWrite, TableStore

FILE_METADATA_SCHEMA = "path string, size long, num_records long, modification_time long"


class EmbeddedStore(TableStore):
    """Delta tables on a local or shared filesystem, written without Delta's JVM connector."""

    engine = "embedded"

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
        # Delta's schema serialisation is Spark's StructType JSON.
        schema = StructType.fromJson(json.loads(snapshot.schema().to_json()))
        files = snapshot.file_uris()
        if not files:
            return self.spark.createDataFrame([], schema)
        return self.spark.read.schema(schema).parquet(*files)

    def stage(
        self,
        df: DataFrame,
        layer: str,
        table: str,
        description: str | None = None,
        column_comments: Mapping[str, str] | None = None,
    ) -> StagedWrite:
        path = self.table_path(layer, table)
        os.makedirs(path, exist_ok=True)
        spark_schema = as_nullable(df.schema)
        arrow_schema = _with_comments(to_arrow_schema(spark_schema), column_comments or {})
        write_id = uuid.uuid4().hex
        try:
            files = (
                df.mapInArrow(_parquet_writer(path, arrow_schema, write_id), FILE_METADATA_SCHEMA)
                .collect()  # file metadata only, one small row per written file
            )
        except BaseException:
            _remove_files_of_write(path, write_id)  # never referenced by the log; tidy up
            raise
        files = sorted(files, key=lambda f: f.path)
        staged_paths = [os.path.join(path, f.path) for f in files]
        staged_df = (
            self.spark.read.schema(spark_schema).parquet(*staged_paths)
            if staged_paths
            else self.spark.createDataFrame([], spark_schema)
        )

        def commit() -> int:
            actions = [
                AddAction(
                    path=f.path,
                    size=f.size,
                    partition_values={},
                    modification_time=f.modification_time,
                    data_change=True,
                    stats=json.dumps({"numRecords": f.num_records}),
                )
                for f in files
            ]
            delta_schema = DeltaSchema.from_arrow(arrow_schema)
            if DeltaTable.is_deltatable(path):
                current = DeltaTable(path)
                # Same schema (column comments included) and description: a plain data commit.
                same_metadata = current.metadata().description == description
                if same_metadata and current.schema().to_json() == delta_schema.to_json():
                    current.create_write_transaction(actions, mode="overwrite", schema=delta_schema)
                    return DeltaTable(path).version()
            # New table, or a schema or description change: replace the metadata in the same commit.
            create_table_with_add_actions(
                path,
                delta_schema,
                actions,
                mode="overwrite",
                name=table,
                description=description,
            )
            return DeltaTable(path).version()

        def abort() -> None:
            _remove_files_of_write(path, write_id)

        return StagedWrite(
            dataframe=staged_df,
            num_rows=sum(f.num_records for f in files),
            _commit=commit,
            _abort=abort,
        )


def _remove_files_of_write(root: str, write_id: str) -> None:
    for name in os.listdir(root):
        if name.startswith(f"part-{write_id}-"):
            os.remove(os.path.join(root, name))


def _parquet_writer(root: str, arrow_schema: pa.Schema, write_id: str):
    """The per-partition function run by executors: write one Parquet file, yield its metadata."""

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq  # imported on the executor

        writer = None
        name = f"part-{write_id}-{uuid.uuid4().hex}.snappy.parquet"
        target = os.path.join(root, name)
        rows = 0
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                if writer is None:
                    writer = pq.ParquetWriter(target, arrow_schema, compression="snappy")
                writer.write_table(pa.Table.from_batches([batch]).cast(arrow_schema))
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            return
        stat = os.stat(target)
        yield pa.RecordBatch.from_pylist(
            [
                {
                    "path": name,
                    "size": stat.st_size,
                    "num_records": rows,
                    "modification_time": int(stat.st_mtime * 1000),
                }
            ]
        )

    return write_partition


def as_nullable(data_type: DataType) -> DataType:
    """The same type with every field nullable, as Spark's own Delta writer stores it."""
    if isinstance(data_type, StructType):
        return StructType(
            [StructField(f.name, as_nullable(f.dataType), True, f.metadata) for f in data_type.fields]
        )
    if isinstance(data_type, ArrayType):
        return ArrayType(as_nullable(data_type.elementType), True)
    if isinstance(data_type, MapType):
        return MapType(as_nullable(data_type.keyType), as_nullable(data_type.valueType), True)
    return data_type


def _with_comments(schema: pa.Schema, comments: Mapping[str, str]) -> pa.Schema:
    """Attach column descriptions as Delta column comments (field metadata ``comment``)."""
    fields = [
        field.with_metadata({"comment": comments[field.name]}) if field.name in comments else field
        for field in schema
    ]
    return pa.schema(fields)
