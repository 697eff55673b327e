"""The embedded engine: Spark executors write Parquet, delta-rs commits on the driver.

No table passes through the driver: Spark's own Parquet writer runs in the
executors (no Python workers), into a scratch folder inside the table folder
(``_staging/<write id>/``, under ``<column>=<value>/`` when the table is
partitioned; the rows of a partition value are gathered first, so each
partition gets one file, or a few when it is very large). The driver then
moves the files into the table folder, reads only their footers (row
counts, whose sum must equal the rows the write produced, counted as it
ran; and each column's bounds and null count, see ``_stats``), turns
them into Delta ``add`` actions with those statistics and commits them in one
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
import uuid
from typing import Any, Mapping, Sequence
from urllib.parse import quote, unquote

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from novacrm_spark.errors import ConfigError, TableNotFoundError
from novacrm_spark.paths import is_local, local_path
from novacrm_spark.frames import as_nullable, constant_frame
from novacrm_spark.store._commit import Commit
from novacrm_spark.store._errors import writing
from novacrm_spark.store._partitions import (
    WrittenFile,
    adopt_spark_output,
    normalise_partitions,
    remove_files_of_write,
    scratch_dir,
)
from novacrm_spark.store._replace import ReplaceBase, partition_columns
from novacrm_spark.store.base import StagedWrite, StoreError, TableStore, WriteOptions

# Delta stores timestamps as Parquet INT64 microseconds (Spark's default is the legacy INT96).
TIMESTAMP_TYPE_CONF = "spark.sql.parquet.outputTimestampType"
# Hadoop's local filesystem writes a `.crc` side file per file, which adopt_spark_output discards
# (Delta tables have none); without Hadoop's native library each costs a `chmod` process (about
# 60 ms per write measured). Its raw form writes none: a write option, so Spark Connect takes it too.
NO_CHECKSUM_FILES = {"fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem", "fs.file.impl.disable.cache": "true"}
# The column types of bookkeeping tables (a timestamp is UTC: Delta's ``timestamp``, not ``timestamp_ntz``).
ARROW_TYPES = {"string": pa.string(), "long": pa.int64(), "double": pa.float64(), "date": pa.date32(),
               "timestamp": pa.timestamp("us", tz="UTC")}
# The rows a write produced, counted while it ran (an observed metric of every write).
ROWS_PRODUCED = "_rows_produced"


class EmbeddedStore(TableStore):
    """Delta tables on a local or shared filesystem, written without Delta's JVM connector."""

    engine = "embedded"
    recomputes_input = False  # stage() writes the Parquet files; the commit only logs them

    def __init__(self, spark: SparkSession, warehouse: str, properties: Mapping[str, str] | None = None) -> None:
        super().__init__(spark, warehouse, properties)
        # For the session, not per write: models written side by side must not race on it.
        spark.conf.set(TIMESTAMP_TYPE_CONF, "TIMESTAMP_MICROS")

    def exists(self, layer: str, table: str) -> bool:
        return DeltaTable.is_deltatable(self.table_path(layer, table))

    def version(self, layer: str, table: str) -> int | None:
        if not self.exists(layer, table):
            return None
        return DeltaTable(self.table_path(layer, table)).version()

    def restore(self, layer: str, table: str, version: int) -> int:
        path = self.table_path(layer, table)
        with writing(f"table {layer}.{table}", path):
            DeltaTable(path).restore(version)
            return DeltaTable(path).version()

    # A bookkeeping table is read and written by delta-rs on the driver: no Spark job, so a
    # reader that re-reads the run manifest often (serve) and every run pay almost nothing.
    def read_rows(self, layer: str, table: str, version: int | None = None) -> list[dict[str, Any]]:
        return DeltaTable(self.table_path(layer, table), version=version).to_pyarrow_table().to_pylist()

    def overwrite_rows(self, rows: Sequence[tuple], schema: str, layer: str, table: str,
                       description: str | None = None) -> int:
        path = self.table_path(layer, table)
        with writing(f"table {layer}.{table}", path):
            write_deltalake(path, _arrow_rows(rows, schema), mode="overwrite", schema_mode="overwrite",
                            description=description, configuration=self.properties)
            return self._with_properties(path)

    def replace_partition_rows(self, rows: Sequence[tuple], schema: str, layer: str, table: str, column: str,
                               value: str, description: str | None = None) -> int:
        path = self.table_path(layer, table)
        with writing(f"table {layer}.{table}", path):
            if DeltaTable.is_deltatable(path):  # delta-rs checks that every row matches the predicate
                quoted = value.replace("'", "''")
                predicate = f"{column} = '{quoted}'"
                write_deltalake(path, _arrow_rows(rows, schema), mode="overwrite", predicate=predicate)
            else:
                write_deltalake(path, _arrow_rows(rows, schema), mode="error", partition_by=[column],
                                description=description, configuration=self.properties)
            return self._with_properties(path)

    def _with_properties(self, path: str) -> int:
        """A bookkeeping table's version once it has this store's properties (delta-rs sets them only on create:
        a table from before, or from other settings, gets them in one more commit); returns its version."""
        table = DeltaTable(path)
        if any(table.metadata().configuration.get(k) != v for k, v in self.properties.items()):
            table.alter.set_table_properties(self.properties)
        return DeltaTable(path).version()

    def read(self, layer: str, table: str, version: int | None = None) -> DataFrame:
        path = self.table_path(layer, table)
        if not self.exists(layer, table):
            raise TableNotFoundError(f"table {layer}.{table} does not exist at {path}; build it first")
        snapshot = DeltaTable(path, version=version)
        return self._read_files(path, _spark_schema(snapshot), partition_columns(snapshot), snapshot.file_uris())

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

    def _stage(self, df: DataFrame, layer: str, table: str, options: WriteOptions) -> StagedWrite:
        path = self.table_path(layer, table)
        name = f"{layer}.{table}"
        columns, replace_partitions = options.partition_by, options.replace_partitions
        spark_schema = as_nullable(df.select(*options.columns).schema if options.columns is not None else df.schema)
        arrow_schema = _with_comments(to_arrow_schema(spark_schema), options.column_comments)
        delta_schema = DeltaSchema.from_arrow(arrow_schema)
        # The version this write follows: its commit lands on it or not at all (see _commit).
        snapshot = DeltaTable(path) if DeltaTable.is_deltatable(path) else None
        base = None
        if replace_partitions is not None:
            replace = normalise_partitions(columns, replace_partitions)
            base = ReplaceBase.of(snapshot, name, columns, replace, delta_schema)
        write_id = uuid.uuid4().hex
        with writing(f"table {name}", path):
            files, metrics, counted = self._write_files(df, options, path, write_id, name, base)
        written = self._read_files(path, spark_schema, columns, [os.path.join(path, f.path) for f in files])
        staged_df = written
        if base is not None and base.snapshot is not None:
            # Readers of the staged write see the table as it will be: kept files + the new ones.
            kept = [os.path.join(path, unquote(p)) for p in base.kept_paths]
            staged_df = self._read_files(path, spark_schema, columns, kept + [os.path.join(path, f.path) for f in files])
        commit = Commit(path, name, table, snapshot, base, [_add_action(f) for f in files], delta_schema, columns,
                        options.description, write_id, self.properties, options.constraints)
        return StagedWrite(
            dataframe=staged_df,
            num_rows=sum(f.num_records for f in files),
            _commit=commit.run,
            _abort=lambda: remove_files_of_write(path, write_id),
            written=written,
            metrics=metrics,
            _check=commit.check,
            metrics_counted=counted,
            commits=commit.commits,
        )

    def _write_files(
        self, df: DataFrame, options: WriteOptions, path: str, write_id: str, name: str, base: ReplaceBase | None,
    ) -> tuple[list[WrittenFile], dict[str, Any], bool]:
        """The write's Parquet files, in the table folder, checked, with its metrics; on any failure none are left."""
        metrics_asked = [*options.observe, F.count(F.lit(1)).alias(ROWS_PRODUCED)]
        observed, observation = self.observed(df, metrics_asked, options.columns)
        try:
            files = self._write_parquet(observed, path, options.partition_by, write_id)
            metrics, counted = self.metric_values(observation, df, metrics_asked)
            _check_rows_adopted(name, metrics.pop(ROWS_PRODUCED), files)
            if base is not None:
                base.check_files(files)
        except BaseException:
            remove_files_of_write(path, write_id)  # never referenced by the log; tidy up
            raise
        return files, metrics, counted

    def _write_parquet(self, df: DataFrame, path: str, columns: list[str], write_id: str) -> list[WrittenFile]:
        """Spark's own Parquet writer, run by the executors; then the files are moved into the table."""
        scratch = scratch_dir(path, write_id)
        # Made here rather than by Spark: a read-only or forbidden folder fails with its errno, not
        # Hadoop's "Mkdirs failed". The write ID is new, so appending to the empty folder adds all there is.
        os.makedirs(scratch)
        if columns:
            # Rows of a partition value go to one task (AQE splits a skewed one), so each
            # partition gets one or a few files instead of one per task.
            df = df.hint("rebalance", *columns)
        writer = df.write.mode("append").option("compression", "snappy").options(**NO_CHECKSUM_FILES)
        if columns:
            writer = writer.partitionBy(*columns)
        writer.parquet(scratch)
        return adopt_spark_output(path, scratch, write_id, columns)


def require_shared_warehouse(spark: SparkSession, warehouse: str) -> None:
    """Over Spark Connect, this client commits what the server's executors wrote: both must see one folder.

    A probe file written here must read back through Spark with the same content;
    else one clear error (object storage, or a server on another machine: use delta-spark).
    """
    advice = "the embedded engine commits from this client the files Spark writes; use engine delta-spark"
    if not is_local(warehouse):
        raise ConfigError(f"engine embedded over Spark Connect needs a warehouse folder this client can read, "
                          f"not {warehouse}: {advice}")
    folder = os.path.abspath(local_path(warehouse))
    if not os.path.isdir(folder):
        return  # nothing to read yet; a run makes the folder (its lock) before it opens the store
    token = uuid.uuid4().hex
    probe = os.path.join(folder, f"connect-probe-{token}.txt")
    with open(probe, "w", encoding="utf-8") as handle:
        handle.write(token)
    try:
        seen = [row[0] for row in spark.read.text(probe).collect()]
    except AnalysisException:
        seen = []
    finally:
        os.remove(probe)
    if seen != [token]:
        raise ConfigError(f"engine embedded over Spark Connect: the Spark Connect server does not see the "
                          f"warehouse folder {folder} as this client does; {advice}, or a folder both share")


def _check_rows_adopted(table: str, produced: int, files: list[WrittenFile]) -> None:
    """The adopted files hold exactly the rows the write produced (a file lost or taken twice fails)."""
    held = sum(f.num_records for f in files)
    if held != produced:
        raise StoreError(
            f"{table}: the write produced {produced:,} rows but the {len(files)} file(s) it left hold {held:,}; "
            "nothing was published"
        )


def _arrow_rows(rows: Sequence[tuple], schema: str) -> pa.Table:
    """``rows`` as an Arrow table of ``schema`` (plain-column DDL: ``name type, ...``)."""
    arrow = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in (column.split() for column in schema.split(","))])
    return pa.Table.from_pylist([dict(zip(arrow.names, row)) for row in rows], schema=arrow)


def _spark_schema(snapshot: DeltaTable) -> StructType:
    # Delta's schema serialisation is Spark's StructType JSON.
    return StructType.fromJson(json.loads(snapshot.schema().to_json()))


def _add_action(f: WrittenFile) -> AddAction:
    return AddAction(
        # Delta log paths are URIs: a partition value's Hive escape (%3A) is escaped once more.
        path=quote(f.path, safe="/="),
        size=f.size,
        partition_values=f.partition_values,
        modification_time=f.modification_time,
        data_change=True,
        stats=f.stats,  # numRecords, and each column's bounds and null count from the footer
    )


def _with_comments(schema: pa.Schema, comments: Mapping[str, str]) -> pa.Schema:
    """Attach column descriptions as Delta column comments (field metadata ``comment``)."""
    fields = [
        field.with_metadata({"comment": comments[field.name]}) if field.name in comments else field
        for field in schema
    ]
    return pa.schema(fields)
