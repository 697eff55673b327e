"""Small constant DataFrames built inside the JVM, and the all-nullable form of a schema.

Spark's ``createDataFrame`` ships a list of Python rows through Python worker
processes: a build that does it once starts a Python daemon and its workers
(about 1.5 s, and their memory) for a handful of rows. :func:`constant_frame`
writes the rows as literals instead, so no Python worker ever starts.

Example::

    >>> catalog = constant_frame(spark, "name string, price string", [("api_access", "29.0")])
    >>> catalog.schema.simpleString()
    'struct<name:string,price:string>'
"""

from __future__ import annotations

from typing import Any, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, StructField, StructType


def constant_frame(spark: SparkSession, schema: StructType | str, rows: Sequence[Sequence[Any]] = ()) -> DataFrame:
    """``rows`` (tuples in ``schema``'s column order) as a DataFrame of ``schema``, every column nullable.

    A DDL string (``"name string, price decimal(18,2)"``) is accepted for ``schema``.
    """
    struct = as_nullable(schema if isinstance(schema, StructType) else StructType.fromDDL(schema))
    names = struct.fieldNames()
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"row {row!r} has {len(row)} values; the schema has {len(names)} columns {names}")
    records = [F.struct(*[F.lit(value).alias(name) for name, value in zip(names, row)]) for row in rows]
    # The cast types every value (and an empty array) as the schema says.
    return spark.range(1).select(F.inline(F.array(*records).cast(ArrayType(struct))))


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
