"""Metastore / Unity Catalog entries for the Delta tables (``novacrm register``, delta-spark only).

With the delta-spark engine the tables can be real catalog tables: a schema
per layer and ``CREATE TABLE ... USING DELTA LOCATION`` per table, commented
with the contract's description, so Databricks SQL or any metastore client
finds ``<catalog>.marts.churn_risk_view`` by name. The statements are built
by pure functions and run by :func:`register_tables`.

Example::

    >>> for statement in register_statements("novacrm", [RegisteredTable("marts", "nrr_summary",
    ...         "s3://lake/warehouse/marts/nrr_summary", "One row per month ...")]):
    ...     print(statement)
    CREATE SCHEMA IF NOT EXISTS `novacrm`.`marts` COMMENT 'NovaCRM marts: ...'
    CREATE TABLE IF NOT EXISTS `novacrm`.`marts`.`nrr_summary` USING DELTA LOCATION 's3://...' COMMENT '...'
    COMMENT ON TABLE `novacrm`.`marts`.`nrr_summary` IS '...'
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from typing import Any, Callable, Iterable, Mapping

from novacrm_spark.errors import ServingError
from novacrm_spark.serving.sqltext import qualified_name, string_literal
from novacrm_spark.registry import Model
from novacrm_spark.serving.tables import LAYER_COMMENTS, published_tables, table_comment
from novacrm_spark.store import TableStore
from novacrm_spark.store.base import LAYERS

# Spark's own session catalog (the Hive metastore); Unity Catalog names its own catalogs.
SESSION_CATALOG = "spark_catalog"


@dataclass(frozen=True)
class RegisteredTable:
    """A published Delta table to enter in the catalog."""

    layer: str
    name: str
    location: str
    comment: str


def catalog_name(catalog: Mapping[str, Any]) -> str:
    """The ``catalog: {name: ...}`` setting; ``spark_catalog`` means the Hive metastore."""
    name = catalog.get("name") if catalog else None
    if not name or not isinstance(name, str):
        raise ServingError(
            "novacrm register needs a catalog in the config, e.g. `catalog: {name: novacrm}` "
            "(a Unity Catalog catalog) or `catalog: {name: spark_catalog}` (the Hive metastore)"
        )
    return name


def require_delta_spark(engine: str) -> None:
    """Catalog tables of format DELTA need Delta's JVM connector: explain when it is missing."""
    if engine != "delta-spark":
        raise ServingError(
            f"novacrm register needs the delta-spark engine (got {engine}): catalog Delta tables are "
            "read through Delta's JVM connector (Databricks, or spark-submit --packages "
            "io.delta:delta-spark_2.13:<version>). With the embedded engine use `novacrm serve` or "
            "`novacrm sql`, or `novacrm register --dry-run` to print the statements"
        )


def schema_statement(catalog: str, layer: str) -> str:
    return (
        f"CREATE SCHEMA IF NOT EXISTS {qualified_name(catalog, layer)} "
        f"COMMENT {string_literal(LAYER_COMMENTS.get(layer, ''))}"
    )


def table_statements(catalog: str, table: RegisteredTable) -> list[str]:
    """Create the entry when missing; set the comment either way (IF NOT EXISTS keeps an old one)."""
    name = qualified_name(catalog, table.layer, table.name)
    create = f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION {string_literal(table.location)}"
    if not table.comment:
        return [create]
    comment = string_literal(table.comment)
    return [f"{create} COMMENT {comment}", f"COMMENT ON TABLE {name} IS {comment}"]


def register_statements(catalog: str, tables: Iterable[RegisteredTable]) -> list[str]:
    """Every statement, schemas first (in layer order), then tables by layer and name."""
    ordered = sorted(tables, key=lambda t: (LAYERS.index(t.layer), t.name))
    layers = [layer for layer in LAYERS if any(t.layer == layer for t in ordered)]
    statements = [schema_statement(catalog, layer) for layer in layers]
    for table in ordered:
        statements += table_statements(catalog, table)
    return statements


def register_tables(run_sql: Callable[[str], Any], statements: Iterable[str]) -> int:
    """Run the statements in order; a failure names the statement. Returns how many ran."""
    count = 0
    for statement in statements:
        try:
            run_sql(statement)
        except Exception as exc:  # noqa: BLE001 - Spark and catalogs raise many types
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ServingError(f"catalog statement failed: {statement}\n  {message}") from None
        count += 1
    return count


def registered_tables(store: TableStore, models: Mapping[str, Model]) -> list[RegisteredTable]:
    """Every published table of ``store`` with an absolute location and the contract's description."""
    return [
        RegisteredTable(t.layer, t.name, absolute_location(store.table_path(t.layer, t.name)), table_comment(t, models))
        for t in published_tables(store, models)
    ]


def absolute_location(path: str) -> str:
    """A metastore location must not depend on the current directory: local paths become absolute."""
    if "://" in path or path.startswith("file:"):
        return path
    return os.path.abspath(path)
