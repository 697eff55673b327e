"""Read-only SQL for `novacrm sql` and every JDBC/ODBC session of `novacrm serve`.

Spark decides, not string matching: a small Java class (``jvm/ReadOnlyGuard.java``,
compiled in the driver by Spark's own Janino, see :mod:`novacrm_spark.serving.jvm`) is injected as two session extensions into every session made
after :func:`install_read_only_guard`, which is every Thrift server session:

* Spark's parser, wrapped: a statement naming a relation that is not
  ``LAYER.TABLE`` (``csv.`/etc/passwd```, ``parquet.`/tmp/x```) is refused
  before Spark resolves it, so no file outside the views is ever opened;
* a check rule on the analysed plan: a query passes, and of the commands only
  those in :data:`ALLOWED_COMMANDS` (SHOW, DESCRIBE, EXPLAIN, USE, SET of a
  ``spark.sql.`` setting outside :data:`SECURITY_SETTINGS`). Everything that
  writes, creates, drops, caches, loads or adds code is refused, and so are
  ``SELECT TRANSFORM`` (runs a program), ``reflect``/``java_method`` (call into
  the JVM) and any relation that is not inside one of the serving views.

The serving process's own session (the one that creates the views) is exempt.
``spark.sql.runSQLOnFiles=false`` is not used: Spark resolves a view's
``parquet.`<file>``` sources with the reading session's setting, so it would
break the views; the parser check refuses path sources instead.

Example::

    >>> reader = install_read_only_guard(spark, "warehouse", layers=["staging", "core", "marts", "quarantine"])
    >>> reader.sql("SELECT count(*) FROM marts.nrr_summary").collect()      # fine
    >>> reader.sql("DROP VIEW marts.nrr_summary")                           # raises: refused: DROP TABLE ...
"""

from __future__ import annotations

import os
from typing import Iterable

from pyspark.sql import SparkSession

from novacrm_spark.serving.jvm import java_array, load_class

# Analysed command classes a BI tool may send (SHOW / DESCRIBE / EXPLAIN / USE); SET is checked by key.
ALLOWED_COMMANDS = (
    "ShowTables", "ShowTablesCommand", "ShowNamespaces", "ShowColumnsCommand", "ShowFunctionsCommand",
    "ShowCreateTableCommand", "ShowTablePropertiesCommand", "ShowViewsCommand", "ShowCatalogsCommand",
    "ShowCurrentNamespaceCommand", "ShowPartitionsCommand", "DescribeTableCommand", "DescribeColumnCommand",
    "DescribeNamespace", "DescribeFunctionCommand", "DescribeQueryCommand", "ExplainCommand",
    "SetCatalogAndNamespace", "SetNamespaceCommand", "SetCatalogCommand",
)  # fmt: skip

# Leaves a query may have outside the serving views: constants, range(), CTE references,
# and the result of an allowed command that already ran (SHOW TABLES ... then read as a frame).
ALLOWED_LEAVES = ("OneRowRelation", "LocalRelation", "Range", "CTERelationRef", "CommandResult")

# Expressions that call arbitrary JVM methods (reflect, java_method, try_reflect).
FORBIDDEN_EXPRESSIONS = ("CallMethodViaReflection", "TryReflect")

# SET may change `spark.sql.*` session settings, except those that widen what a session can reach.
ORDINARY_SETTINGS_PREFIX = "spark.sql."
SECURITY_SETTINGS = (
    "spark.sql.runSQLOnFiles", "spark.sql.catalog", "spark.sql.defaultCatalog", "spark.sql.extensions",
    "spark.sql.warehouse", "spark.sql.legacy.", "spark.sql.hive.", "spark.sql.sources.", "spark.sql.files.",
    "spark.sql.streaming.", "spark.sql.artifact", "spark.sql.execution.pyspark", "spark.sql.redaction",
    "spark.sql.queryExecutionListeners", "spark.sql.globalTempDatabase", "spark.sql.thriftServer",
    "spark.sql.scriptTransformation", "spark.sql.variable.substitute",
)  # fmt: skip

HELP = (
    "Tables are served read-only: queries (SELECT, WITH, VALUES, TABLE) over LAYER.TABLE names, "
    "SHOW, DESCRIBE, EXPLAIN, USE, and SET of spark.sql session settings are allowed"
)


def install_read_only_guard(spark: SparkSession, warehouse: str, layers: Iterable[str]) -> SparkSession:
    """Guard every session made from now on, and return a new guarded session sharing ``spark``'s catalog.

    ``spark`` itself stays unguarded: it creates and replaces the views.
    ``layers`` are the namespaces whose tables (views) may be read, and the
    files under ``warehouse`` the only ones their views may read. Installing
    again on the same session only adds ``warehouse`` to the readable ones.
    """
    owner = spark._jsparkSession  # noqa: SLF001 - a serving session is classic by nature (see module doc)
    guards = spark.sparkContext.__dict__.setdefault("_novacrm_guards", {})
    if id(owner) not in guards:
        policy = [
            owner,
            _strings(spark, sorted({layer.lower() for layer in layers})),
            _strings(spark, ALLOWED_COMMANDS),
            _strings(spark, ALLOWED_LEAVES),
            _strings(spark, FORBIDDEN_EXPRESSIONS),
            ORDINARY_SETTINGS_PREFIX,
            _strings(spark, SECURITY_SETTINGS),
            HELP,
        ]
        args = java_array(spark, spark._jvm.java.lang.Object, policy)  # noqa: SLF001
        guard = load_class(spark, "ReadOnlyGuard").getConstructors()[0].newInstance(args)
        owner.extensions().injectCheckRule(guard.checkRuleBuilder())
        owner.extensions().injectParser(guard.parserBuilder())
        guards[id(owner)] = guard
    guards[id(owner)].allowTableRoot(table_root(warehouse))
    return SparkSession(spark.sparkContext, owner.newSession())


def table_root(warehouse: str) -> str:
    """``scheme://authority/path/`` of the warehouse, as the guard compares file locations.

    Example: ``table_root("/w/lake")`` -> ``'file:///w/lake/'``; ``s3a://b/lake`` -> ``'s3a://b/lake/'``.
    """
    root = warehouse if "://" in warehouse else "file://" + os.path.abspath(warehouse.removeprefix("file:"))
    return root.rstrip("/") + "/"


def is_refusal(exc: BaseException) -> str | None:
    """The refusal message when ``exc`` is the guard's, else None."""
    java = getattr(exc, "java_exception", None)
    while java is not None:
        if java.getClass().getName() == "java.lang.SecurityException":
            return str(java.getMessage())
        java = java.getCause()
    text = str(exc)
    marker = "java.lang.SecurityException: "
    if marker in text:
        return text.split(marker, 1)[1].splitlines()[0]
    return None


def _strings(spark: SparkSession, values: Iterable[str]):
    return java_array(spark, spark._jvm.java.lang.String, list(values))  # noqa: SLF001
