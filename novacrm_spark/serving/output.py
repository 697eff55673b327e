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

FORMATS = ("table", "csv", "json")


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
