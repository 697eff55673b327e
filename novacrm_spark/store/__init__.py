"""The Delta table store: every table read and write of the pipeline goes through here.

Tables live at ``<warehouse>/<layer>/<table>/``. Two engines implement the same
small interface (:class:`TableStore`):

* ``delta-spark``: Spark's own Delta data source, when Delta's JVM classes are
  on the classpath (Databricks, or ``spark-submit --packages io.delta:...``);
* ``embedded``: executors write Parquet, the driver commits the files to the
  Delta log with delta-rs (the ``deltalake`` package). No JVM connector needed.

Both write the standard Delta protocol, so each reads what the other wrote.

A commit lands on the table version its write was staged against: when
another writer committed to the table in between, it is refused with
:class:`CommitConflictError` and the write's files are removed.
``publish(writes)`` checks every write before committing any, under a lock
on the warehouse. A read-only, full or forbidden warehouse raises
:class:`WarehouseError` naming the table and its path.

Example::

    >>> store = open_store(spark, warehouse="warehouse", engine="auto")
    >>> staged = store.stage(df, "staging", "stg_accounts")
    >>> staged.dataframe.count()        # audit the files before anyone can see them
    >>> staged.commit()                 # one atomic Delta commit -> new version
    >>> store.publish([w1, w2])         # several: none is committed if another writer moved any
    >>> store.read("staging", "stg_accounts").show()
"""

from __future__ import annotations

from typing import Mapping

from pyspark.sql import SparkSession

from novacrm_spark.errors import ConfigError
from novacrm_spark.paths import is_local
from novacrm_spark.store.base import StagedWrite, StoreError, TableStore
from novacrm_spark.store.delta_spark import DeltaSparkStore, delta_spark_available
from novacrm_spark.store.embedded import EmbeddedStore, require_shared_warehouse

__all__ = ["StagedWrite", "StoreError", "TableStore", "open_store", "resolve_engine"]


def resolve_engine(spark: SparkSession, engine: str) -> str:
    """Turn ``auto`` into the engine this session can use."""
    if engine == "auto":
        return "delta-spark" if delta_spark_available(spark) else "embedded"
    if engine == "delta-spark" and not delta_spark_available(spark):
        raise ConfigError(
            "engine delta-spark needs Delta's JVM classes on the classpath: a local run fetches them itself, "
            "a session started elsewhere needs them from its launcher (spark-submit --packages "
            "io.delta:delta-spark_2.13:<version>, or a Databricks runtime); use engine embedded or auto otherwise"
        )
    return engine


def open_store(
    spark: SparkSession, warehouse: str, engine: str = "auto", properties: Mapping[str, str] | None = None
) -> TableStore:
    """Open the warehouse with the named engine (``auto`` picks delta-spark when available).

    ``properties``: the table properties every write sets (see :func:`novacrm_spark.retention.retention_properties`);
    None: Delta's default retention.
    """
    resolved = resolve_engine(spark, engine)
    if resolved == "delta-spark":
        return DeltaSparkStore(spark, warehouse, properties)
    if not is_local(warehouse):
        raise ConfigError(
            f"the embedded engine writes local or mounted folders only, and {warehouse} is object storage: "
            "use engine delta-spark (engine auto picks it when Delta's classes are present)"
        )
    if is_connect_session(spark):
        require_shared_warehouse(spark, warehouse)
    return EmbeddedStore(spark, warehouse, properties)


def is_connect_session(spark: SparkSession) -> bool:
    """True for a Spark Connect client session (no driver JVM in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")
