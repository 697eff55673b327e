"""Delta per-file statistics of a Parquet file, from its footer alone (embedded engine).

An ``add`` action's ``stats`` is JSON: ``numRecords``, then ``minValues``,
``maxValues`` and ``nullCount`` nested by column name, as delta-spark writes
them. Readers (Spark's Delta source, delta-rs, DuckDB, polars) skip a file
when a filter cannot match between its bounds, so a bound written here must
hold for every row of the file; a bound that cannot be stated is left out
(a reader then keeps the file), never guessed:

- only top-level columns of the types Delta skips on get bounds: integers,
  decimals, dates, timestamps, strings. Booleans and binary get a null count
  only (delta-spark writes no bounds for them either); float and double too:
  readers sort NaN above every number, and a footer's bounds may leave NaN
  out (pyarrow's writer does; Spark's makes NaN the maximum, which JSON
  cannot hold). Arrays and maps are left out, as a footer counts their nulls
  per element, not per row; so are structs (no table here has one at the
  top level).
- dates are ``yyyy-MM-dd``; timestamps (UTC) are ISO-8601 with milliseconds
  and ``Z``, the minimum rounded down and the maximum up to the millisecond;
  timestamps without time zone the same without ``Z``.
- strings longer than 32 characters are cut as delta-spark cuts them: the
  minimum to its 32-character prefix, the maximum to a prefix followed by
  U+10FFFF, the largest character, so it still sorts above the value.
- decimals are JSON numbers with every digit of their scale.

Partition columns are not in the files and so not in the statistics.

Example (a file of three rows, ``id`` 1..3 with one null ``name``)::

    {"numRecords":3,"minValues":{"id":1,"name":"ann"},"maxValues":{"id":3,"name":"bo"},
     "nullCount":{"id":0,"name":1}}
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# delta-spark's dataSkippingStringPrefixLength.
STRING_PREFIX = 32
# Sorts above every other character, in code points as in UTF-8 bytes.
MAX_CHARACTER = "\U0010ffff"


def file_stats(metadata: pq.FileMetaData) -> str:
    """The ``stats`` JSON of an ``add`` action for the Parquet file whose footer is ``metadata``."""
    schema = metadata.schema.to_arrow_schema()
    minimum: dict[str, Any] = {}
    maximum: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    leaf = 0
    for field in schema:
        leaves = _leaf_count(field.type)
        if leaves == 1 and _is_primitive(field.type):
            kind = _kind(field.type, metadata.schema.column(leaf).physical_type)
            count, low, high = _column_stats(metadata, leaf)
            if count is not None:
                nulls[field.name] = count
            if kind is not None and low is not None and high is not None:
                bounds = _bounds(kind, low, high)
                if bounds is not None:
                    minimum[field.name], maximum[field.name] = bounds
        leaf += leaves
    stats: dict[str, Any] = {"numRecords": metadata.num_rows}
    if minimum:
        stats["minValues"] = minimum
        stats["maxValues"] = maximum
    if nulls:
        stats["nullCount"] = nulls
    return _to_json(stats)


def _leaf_count(kind: pa.DataType) -> int:
    """The Parquet leaf columns a field of this Arrow type takes."""
    if kind.num_fields == 0:
        return 1
    return sum(_leaf_count(kind.field(i).type) for i in range(kind.num_fields))


def _is_primitive(kind: pa.DataType) -> bool:
    return not (pa.types.is_nested(kind) or pa.types.is_dictionary(kind))


def _kind(kind: pa.DataType, physical: str) -> str | None:
    """How a column's bounds are written; None: no bounds."""
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_decimal(kind):
        return "decimal"
    if pa.types.is_date32(kind):
        return "date"
    # Spark's micro- or milliseconds (INT96's footer bounds are not reliable; nanoseconds do not fit datetime)
    if pa.types.is_timestamp(kind) and physical == "INT64" and kind.unit in ("us", "ms"):
        return "timestamp" if kind.tz is not None else "timestamp_ntz"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    return None


def _column_stats(metadata: pq.FileMetaData, leaf: int) -> tuple[int | None, Any, Any]:
    """Null count, minimum and maximum of one leaf column over all row groups (None where unknown)."""
    nulls: int | None = 0
    low = high = None
    bounded = True
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        if row_group.num_rows == 0:
            continue
        stats = row_group.column(leaf).statistics
        group_nulls = stats.null_count if stats is not None and stats.has_null_count else None
        nulls = None if nulls is None or group_nulls is None else nulls + group_nulls
        if group_nulls == row_group.num_rows:
            continue  # all null: no bounds to take
        if stats is None or not stats.has_min_max:
            bounded = False
            continue
        try:
            group_low, group_high = stats.min, stats.max
        except (ValueError, OverflowError, UnicodeDecodeError, pa.ArrowException):
            bounded = False  # a value Python cannot hold (e.g. a date past year 9999) or bytes not UTF-8
            continue
        low = group_low if low is None else min(low, group_low)
        high = group_high if high is None else max(high, group_high)
    if not bounded:
        return nulls, None, None
    return nulls, low, high


def _bounds(kind: str, low: Any, high: Any) -> tuple[Any, Any] | None:
    if kind == "integer" and isinstance(low, int) and isinstance(high, int):
        return low, high
    if kind == "decimal" and isinstance(low, decimal.Decimal) and isinstance(high, decimal.Decimal):
        return low, high
    if kind == "date" and isinstance(low, dt.date) and isinstance(high, dt.date):
        return low.isoformat(), high.isoformat()
    if kind in ("timestamp", "timestamp_ntz") and isinstance(low, dt.datetime) and isinstance(high, dt.datetime):
        zone = "Z" if kind == "timestamp" else ""
        try:
            return timestamp_text(low, up=False) + zone, timestamp_text(high, up=True) + zone
        except OverflowError:
            return None  # a maximum within a millisecond of year 9999's end cannot be rounded up
    if kind == "string" and isinstance(low, str) and isinstance(high, str):
        return low[:STRING_PREFIX], string_upper_bound(high)
    return None


def timestamp_text(value: dt.datetime, up: bool) -> str:
    """``yyyy-MM-ddTHH:mm:ss.SSS`` in UTC (naive: as it is), to the millisecond below (``up``: above).

    Example: ``timestamp_text(datetime(2024, 1, 1, 9, 0, 0, 1500), up=True)`` -> ``'2024-01-01T09:00:00.002'``.
    """
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    extra = value.microsecond % 1000
    if extra:
        value -= dt.timedelta(microseconds=extra)
        if up:
            value += dt.timedelta(milliseconds=1)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}.{value.microsecond // 1000:03d}")


def string_upper_bound(value: str) -> str:
    """``value`` when short; else a prefix of at least 32 characters plus U+10FFFF, which sorts above it.

    The prefix grows past any U+10FFFF in the value, else the bound would not be above it.
    """
    end = STRING_PREFIX
    while end < len(value) and value[end] == MAX_CHARACTER:
        end += 1
    return value if end >= len(value) else value[:end] + MAX_CHARACTER


def _to_json(value: Any) -> str:
    """Compact JSON; decimals as numbers with all their digits (json.dumps would refuse them)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return json.dumps(value, ensure_ascii=False)
