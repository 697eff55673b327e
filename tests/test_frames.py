"""constant_frame: rows typed by the schema, every column nullable, no Python worker needed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql.types import DateType, DecimalType, IntegerType, StringType, StructField, StructType

from novacrm_spark.frames import constant_frame

SCHEMA = StructType(
    [
        StructField("name", StringType(), False),
        StructField("price", DecimalType(18, 2), False),
        StructField("since", DateType(), True),
        StructField("seats", IntegerType(), True),
    ]
)


def test_rows_take_the_schema_types_and_every_column_is_nullable(spark):
    out = constant_frame(spark, SCHEMA, [("api", Decimal("29.5"), dt.date(2024, 1, 2), 3), ("crm", 7, None, None)])
    expected = spark.createDataFrame(
        [("api", Decimal("29.50"), dt.date(2024, 1, 2), 3), ("crm", Decimal("7.00"), None, None)],
        "name string, price decimal(18,2), since date, seats int",
    )
    assert [f.nullable for f in out.schema.fields] == [True, True, True, True]
    assert_df_equality(out, expected)


def test_a_ddl_schema_and_no_rows_give_an_empty_frame_of_that_schema(spark):
    out = constant_frame(spark, "product_name string, list_price_mrr string")
    assert out.schema.simpleString() == "struct<product_name:string,list_price_mrr:string>"
    assert out.count() == 0


def test_a_row_of_the_wrong_width_is_rejected(spark):
    with pytest.raises(ValueError, match="has 1 values; the schema has 4 columns"):
        constant_frame(spark, SCHEMA, [("api",)])
