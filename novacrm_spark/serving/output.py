"""Printing a query result as a table, CSV or JSON (for ``novacrm sql``).

Results of ad-hoc queries are small by intent; at most ``limit`` rows are
brought to the driver, and :class:`Rendered` says when more were left out.

Example::

    >>> print(render(spark.sql("SELECT 1 AS n, 'a' AS s"), "csv").text)
    n,s
    1,a
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.errors import ServingError
from novacrm_spark.serving import FORMATS



@dataclass(frozen=True)
class Rendered:
    text: str
    truncated: bool  # the result has more rows than were printed


def render(df: DataFrame, fmt: str, limit: int = 1000) -> Rendered:
    """``df``'s first ``limit`` rows in ``fmt`` (table | csv | json)."""
    if fmt == "table":
        return _table(df, limit)
    if fmt == "csv":
        return _csv(df, limit)
    if fmt == "json":
        return _json(df, limit)
    raise ValueError(f"format must be one of {FORMATS}; got {fmt!r}")


def _table(df: DataFrame, limit: int) -> Rendered:
    # Spark's own grid, as `novacrm show` prints it; it adds "only showing top N rows" itself.
    text = df._show_string(limit, truncate=False)  # noqa: SLF001
    return Rendered(text.rstrip("\n"), truncated=False)


def _csv(df: DataFrame, limit: int) -> Rendered:
    rows = df.limit(limit + 1).collect()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(df.columns)
    writer.writerows([csv_value(v) for v in row] for row in rows[:limit])
    return Rendered(buffer.getvalue().rstrip("\n"), len(rows) > limit)


def _json(df: DataFrame, limit: int) -> Rendered:
    # Spark writes the JSON, so decimals keep every digit and nulls stay as null.
    objects = df.limit(limit + 1).select(F.to_json(F.struct(F.col("*")), {"ignoreNullFields": "false"})).collect()
    lines = [row[0] for row in objects[:limit]]
    text = "[\n" + ",\n".join(lines) + "\n]" if lines else "[]"
    return Rendered(text, len(objects) > limit)


def csv_value(value: Any) -> str:
    """One CSV cell: empty for null, ``true``/``false``, ISO dates, ``YYYY-MM-DD HH:MM:SS`` times."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def answer(reader, query: str, fmt: str = "table", limit: int = 1000):
    """Run ``query`` on a guarded session and render it; a refusal or failure is one ServingError."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    from novacrm_spark.serving.guard import is_refusal

    try:
        return render(reader.sql(query), fmt, limit)
    except (PySparkException, Py4JJavaError) as exc:
        raise ServingError(is_refusal(exc) or f"query failed: {query_error(exc)}") from None


def quiet_query_error_logs() -> None:
    """PySpark logs every failed query with its JVM stack trace; `sql` reports it in one line instead."""
    import logging

    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def query_error(exc: Exception) -> str:
    """Spark's first message line, plus a hint on table names when a table was not found."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if "TABLE_OR_VIEW_NOT_FOUND" in line:
        line += " (tables are named LAYER.TABLE, e.g. marts.churn_risk_view; SHOW TABLES IN marts lists them)"
    return line
