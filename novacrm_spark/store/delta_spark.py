"""The delta-spark engine: Spark's own Delta data source (``format("delta")``).

Used on Databricks or when ``spark-submit`` adds ``--packages io.delta:delta-spark_2.13:4.0.x``.
Staging caches the DataFrame so the audit and the write read the same data;
the write is a single ``overwrite`` commit (``partitionBy`` for partitioned
tables; ``replaceWhere`` on the replaced partitions for a partition replace).
The commit is refused (:class:`CommitConflictError`) when the table moved
past the version the write was staged against, or when Delta's own conflict
check fails a commit racing another writer's.
"""

from __future__ import annotations

import uuid
from typing import Sequence

from pyspark.sql import DataFrame, SparkSession

from novacrm_spark.errors import TableNotFoundError
from novacrm_spark.quality.constraints import as_properties
from novacrm_spark.store._errors import conflict, writing
from novacrm_spark.store._partitions import normalise_partitions
from novacrm_spark.store.base import StagedWrite, TableStore, WriteOptions


def delta_spark_available(spark: SparkSession) -> bool:
    """True when Delta's data source is on this session's classpath (classic or Spark Connect).

    Resolving the ``delta`` source for a path that holds no table fails with
    ``DATA_SOURCE_NOT_FOUND`` only when the source is missing; no job runs.
    """
    try:
        spark.read.format("delta").load(f"/nonexistent-{uuid.uuid4().hex}").schema
    except Exception as exc:  # noqa: BLE001 - the error class tells which failure it was
        return "DATA_SOURCE_NOT_FOUND" not in str(exc)
    return True


class DeltaSparkStore(TableStore):
    engine = "delta-spark"

    def _delta_table(self, layer: str, table: str):
        from delta.tables import DeltaTable

        path = self.table_path(layer, table)
        return DeltaTable.forPath(self.spark, path) if DeltaTable.isDeltaTable(self.spark, path) else None

    def exists(self, layer: str, table: str) -> bool:
        return self._delta_table(layer, table) is not None

    def version(self, layer: str, table: str) -> int | None:
        delta_table = self._delta_table(layer, table)
        if delta_table is None:
            return None
        return delta_table.history(1).select("version").first()[0]

    def restore(self, layer: str, table: str, version: int) -> int:
        with writing(f"table {layer}.{table}", self.table_path(layer, table)):
            self._delta_table(layer, table).restoreToVersion(version)
        return self.version(layer, table)

    def read(self, layer: str, table: str, version: int | None = None) -> DataFrame:
        if not self.exists(layer, table):
            raise TableNotFoundError(f"table {layer}.{table} does not exist at {self.table_path(layer, table)}")
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.table_path(layer, table))

    def _stage(self, df: DataFrame, layer: str, table: str, options: WriteOptions) -> StagedWrite:
        comments, description, replace_partitions = options.column_comments, options.description, options.replace_partitions
        path, name = self.table_path(layer, table), f"{layer}.{table}"
        read = self.version(layer, table)  # the commit lands on this version or not at all
        for column, comment in comments.items():
            df = df.withMetadata(column, {**df.schema[column].metadata, "comment": comment})
        observed, observation = self.observed(df, options.observe, options.columns)
        # Computed once (filling the observation) and held by the executors: the audit, the
        # commit and downstream models read it. The checkpoint also cuts the lineage, so a
        # downstream model's plan starts here instead of inlining every model upstream of it
        # (that blew a 1 GB driver's heap in analysis). Public API, so Spark Connect takes it.
        cached = observed.localCheckpoint(eager=True)
        num_rows = cached.count()
        metrics, counted = self.metric_values(observation, df, options.observe)
        columns = options.partition_by
        condition = None
        if replace_partitions is not None and self.exists(layer, table):
            condition = replace_where(columns, normalise_partitions(columns, replace_partitions))
        view = cached
        if condition is not None:
            # The table as the commit will leave it: the other partitions + the new rows.
            view = self.read(layer, table).where(f"NOT ({condition})").unionByName(cached).persist()

        def check() -> None:
            now = self.version(layer, table)
            if now != read:
                raise conflict(name, path, read, now)

        def commit() -> int:
            conflicts = delta_conflicts()
            try:
                with writing(f"table {name}", path):
                    check()
                    save()
            except conflicts as exc:
                raise conflict(name, path, read, self.version(layer, table)) from exc
            finally:
                abort()
            return self.version(layer, table)

        def save() -> None:
            if condition is None:
                # CREATE OR REPLACE TABLE ... AS SELECT: one commit that also sets the table's
                # description (its `comment`), as the embedded engine does, and its schema.
                writer = cached.writeTo(f"delta.`{path.replace('`', '``')}`").using("delta")
                if columns:
                    writer = writer.partitionedBy(*columns)
                if description:
                    writer = writer.tableProperty("comment", description)
                # The retention settings and the contract's CHECK constraints; they replace the table's.
                for key, value in {**self.properties, **as_properties(options.constraints)}.items():
                    writer = writer.tableProperty(key, value)
                writer.createOrReplace()
                return
            # Delta checks that every written row matches the condition, and removes only those
            # files; the table's description, schema and properties stay.
            writer = cached.write.format("delta").mode("overwrite").option("replaceWhere", condition)
            if columns:
                writer = writer.partitionBy(*columns)
            writer.save(path)

        def abort() -> None:
            cached.unpersist()
            view.unpersist()

        return StagedWrite(
            dataframe=view, num_rows=num_rows, _commit=commit, _abort=abort, written=cached,
            metrics=metrics, _check=check, metrics_counted=counted,
        )


def delta_conflicts() -> tuple[type[Exception], ...]:
    """Delta's commit-conflict exceptions (``ConcurrentModificationException`` subclasses in the JVM)."""
    import delta.exceptions.captured  # noqa: F401 - makes PySpark raise these for the JVM's exceptions
    from delta import exceptions

    return tuple(getattr(exceptions, name) for name in exceptions.__all__)


def replace_where(columns: Sequence[str], partitions: set[tuple[str | None, ...]]) -> str:
    """A replaceWhere condition selecting exactly ``partitions``.

    Example: ``replace_where(["event_month"], {("2024-03-01",)})`` -> ``(event_month <=> '2024-03-01')``.
    """
    if not partitions:
        return "false"
    terms = []
    for values in sorted(partitions, key=lambda v: tuple("" if x is None else x for x in v)):
        parts = [f"{c} <=> {'NULL' if v is None else repr(v)}" for c, v in zip(columns, values)]
        terms.append("(" + " AND ".join(parts) + ")")
    return " OR ".join(terms)
