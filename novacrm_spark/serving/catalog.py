"""Every published table of a warehouse as a SQL name: ``<layer>.<table>``.

Each layer (staging, core, marts, quarantine) becomes a Spark database and
each published Delta table a view in it, so ``SELECT * FROM
marts.churn_risk_view`` works in ``novacrm sql`` and over JDBC/ODBC from
``novacrm serve``. The view's column and table comments carry the table's
description.

How a view reads its table depends on the engine:

Every view reads the version of its table that the last complete run
published (the run manifest, :class:`~novacrm_spark.store.manifest.PublishedTables`):
a run killed half-way through publishing never shows.

* ``embedded`` (no Delta JVM connector): the view reads exactly the Parquet
  files of that Delta version, listed by the store. A Delta
  folder also holds the files of older versions, so the view never points at
  the folder itself. When a new version is published, :meth:`ServingCatalog.refresh`
  replaces the view.
* ``delta-spark``: the view reads ``delta.`<path>` VERSION AS OF <n>``.

Example::

    >>> catalog = ServingCatalog(spark, open_store(spark, "warehouse"), scratch_dir="/tmp/x")
    >>> [str(c) for c in catalog.refresh()]
    ['staging.stg_accounts: new at version 0', ...]
    >>> spark.sql("SELECT count(*) FROM marts.churn_risk_view").show()
    >>> catalog.close()                   # drops the views and the databases it created
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping

from pyspark.sql import SparkSession

from novacrm_spark.errors import ServingError
from novacrm_spark.registry import Model, all_models
from novacrm_spark.serving.sqltext import quote_identifier
from novacrm_spark.serving.tables import TableRef, folder_tables, registry_tables, table_comment
from novacrm_spark.serving.views import database_sql, file_groups, select_sql, view_sql
from novacrm_spark.store import TableStore
from novacrm_spark.store.manifest import PublishedTables

Log = Callable[[str], None]


@dataclass(frozen=True)
class Change:
    """What one refresh did to one served table (``new`` is None when the table disappeared)."""

    table: TableRef
    old: int | None
    new: int | None

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.table}: new at version {self.new}"
        if self.new is None:
            return f"{self.table}: gone (was version {self.old})"
        return f"{self.table}: version {self.old} -> {self.new}"


class ServingCatalog:
    """One view per published table of ``store``, kept at the version of the last complete run."""

    def __init__(
        self,
        spark: SparkSession,
        store: TableStore,
        scratch_dir: str,
        models: Mapping[str, Model] | None = None,
        log: Log = lambda line: None,
    ) -> None:
        self.spark = spark
        # Readers see the tables of the last complete run (the run manifest), never a run half-published.
        self.store = PublishedTables(store)
        self.scratch_dir = scratch_dir
        self.models = dict(all_models() if models is None else models)
        self.log = log
        self.served: dict[TableRef, int] = {}
        self._created_databases: list[str] = []

    def __enter__(self) -> "ServingCatalog":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def candidates(self) -> list[TableRef]:
        return sorted(registry_tables(self.models) | folder_tables(self.store.warehouse) | set(self.served))

    def refresh(self) -> list[Change]:
        """Serve new tables, re-point views whose table has a new version, drop vanished ones.

        A table that fails to register keeps its previous view (if any) and is
        retried on the next refresh; the failure is logged, not raised.
        """
        changes = []
        self.store.refresh()
        for table in self.candidates():
            old = self.served.get(table)
            try:
                new = self.store.version(table.layer, table.name)
                if new == old:
                    continue
                if new is None:
                    self.spark.sql(f"DROP VIEW IF EXISTS {table.sql_name}")
                    del self.served[table]
                else:
                    self._register(table)
                    self.served[table] = new
            except Exception as exc:  # noqa: BLE001 - one bad table must not stop serving the others
                self.log(f"warning: could not serve {table}: {_first_line(exc)}")
                continue
            changes.append(Change(table, old, new))
        return changes

    def _register(self, table: TableRef) -> None:
        self._ensure_database(table.layer)
        frame = self.store.read(table.layer, table.name)
        if self.store.engine == "delta-spark":
            # Spark's Delta source at the pinned version (without one it would read the latest).
            path = quote_identifier(self.store.table_path(table.layer, table.name))
            sources = [f"delta.{path} VERSION AS OF {int(self.store.version(table.layer, table.name))}"]
        else:
            # The store read exactly the current version's files: serve those, not the folder.
            sources = file_groups(frame.inputFiles(), frame.schema.fieldNames())
        query = select_sql(frame.schema, sources)
        self.spark.sql(view_sql(table, frame.schema, query, table_comment(table, self.models)))

    def _ensure_database(self, layer: str) -> None:
        if layer in self._created_databases or self.spark.catalog.databaseExists(layer):
            return
        location = os.path.join(self.scratch_dir, f"{layer}.db")
        self.spark.sql(database_sql(layer, location))
        self._created_databases.append(layer)

    def close(self) -> None:
        """Drop every view this catalog made, then the (then empty) databases it created."""
        for table in sorted(self.served):
            self.spark.sql(f"DROP VIEW IF EXISTS {table.sql_name}")
        self.served.clear()
        for layer in self._created_databases:
            # RESTRICT: a database someone else put objects in is left alone.
            if not [t for t in self.spark.catalog.listTables(layer) if not t.isTemporary]:
                self.spark.sql(f"DROP DATABASE IF EXISTS {quote_identifier(layer)} RESTRICT")
        self._created_databases.clear()


def require_tables(catalog: ServingCatalog) -> None:
    """Fail when the warehouse holds no published table at all (wrong path, or nothing built yet)."""
    if not catalog.served:
        raise ServingError(
            f"no published tables under {catalog.store.warehouse}; run `novacrm run` first or pass --warehouse"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
