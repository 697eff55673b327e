"""The embedded engine's Delta per-file statistics, from Parquet footers (no Spark here).

Each expected JSON is written out by hand from the rows of the file.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pyarrow as pa
import pyarrow.parquet as pq

from novacrm_spark.store._stats import file_stats, string_upper_bound, timestamp_text

UTC = dt.timezone.utc


def footer(tmp_path, table: pa.Table, **options) -> pq.FileMetaData:
    path = tmp_path / "file.parquet"
    pq.write_table(table, path, **options)
    return pq.read_metadata(path)


def test_bounds_and_null_counts_of_each_type_serialised_as_delta_writes_them(tmp_path):
    table = pa.table({
        "id": pa.array([3, None, -7], pa.int64()),
        "qty": pa.array([1, 2, None], pa.int16()),
        "name": pa.array(["bo", "ann", None]),
        "day": pa.array([dt.date(2024, 3, 1), None, dt.date(2023, 12, 31)]),
        "at": pa.array([dt.datetime(2024, 3, 1, 10, 0, 0, 250000), dt.datetime(2024, 3, 1, 9, 5, 7), None],
                       pa.timestamp("us", tz="UTC")),
        "local": pa.array([dt.datetime(2024, 3, 1, 10, 0), None, None], pa.timestamp("us")),
        "amount": pa.array([decimal.Decimal("12.50"), decimal.Decimal("-0.05"), None], pa.decimal128(10, 2)),
        "score": pa.array([0.5, None, 2.0]),
        "flag": pa.array([True, None, False]),
        "blob": pa.array([b"\x00", b"\xff", None]),
        "tags": pa.array([["a"], None, []], pa.list_(pa.string())),
        "detail": pa.array([{"k": 1}, None, {"k": None}], pa.struct([("k", pa.int32())])),
        "attrs": pa.array([[("a", 1)], None, []], pa.map_(pa.string(), pa.int64())),
        "empty": pa.array([None, None, None], pa.int32()),
        "after": pa.array([2, 1, 3], pa.int32()),
    })
    expected = (
        '{"numRecords":3,'
        '"minValues":{"id":-7,"qty":1,"name":"ann","day":"2023-12-31","at":"2024-03-01T09:05:07.000Z",'
        '"local":"2024-03-01T10:00:00.000","amount":-0.05,"after":1},'
        '"maxValues":{"id":3,"qty":2,"name":"bo","day":"2024-03-01","at":"2024-03-01T10:00:00.250Z",'
        '"local":"2024-03-01T10:00:00.000","amount":12.50,"after":3},'
        '"nullCount":{"id":1,"qty":1,"name":1,"day":1,"at":1,"local":2,"amount":1,"score":1,"flag":1,"blob":1,'
        '"empty":3,"after":0}}'
    )
    assert file_stats(footer(tmp_path, table)) == expected
    assert json.loads(expected)["maxValues"]["amount"] == 12.5  # a JSON number


def test_row_groups_are_combined_and_an_all_null_group_adds_only_nulls(tmp_path):
    table = pa.table({
        "n": pa.array([5, 9, None, None, 1, 4], pa.int32()),
        "day": pa.array([dt.date(2024, 1, 5), None, None, None, dt.date(2024, 1, 9), dt.date(2024, 1, 1)]),
    })
    stats = file_stats(footer(tmp_path, table, row_group_size=2))  # groups: [5, 9] [-, -] [1, 4]
    assert stats == ('{"numRecords":6,"minValues":{"n":1,"day":"2024-01-01"},"maxValues":{"n":9,"day":"2024-01-09"},'
                     '"nullCount":{"n":2,"day":3}}')


def test_a_column_without_footer_statistics_gets_neither_bounds_nor_null_count(tmp_path):
    table = pa.table({"kept": pa.array([1, 2], pa.int32()), "bare": pa.array([1, None], pa.int32())})
    stats = file_stats(footer(tmp_path, table, write_statistics=["kept"]))
    assert stats == '{"numRecords":2,"minValues":{"kept":1},"maxValues":{"kept":2},"nullCount":{"kept":0}}'


def test_long_strings_are_cut_to_32_characters_and_the_maximum_stays_above_the_value(tmp_path):
    long_b = "b" * 40
    table = pa.table({"s": pa.array(["a" * 33, long_b, "é" * 32])})
    stats = json.loads(file_stats(footer(tmp_path, table)))
    assert stats["minValues"] == {"s": "a" * 32}
    assert stats["maxValues"] == {"s": "é" * 32}  # 32 characters (64 UTF-8 bytes): whole
    assert string_upper_bound(long_b) == "b" * 32 + "\U0010ffff"
    assert string_upper_bound(long_b) > long_b and string_upper_bound(long_b).encode() > long_b.encode()
    # A largest character at the cut is kept, and the bound still sorts above the value.
    top = "c" * 32 + "\U0010ffff" * 2 + "d"
    assert string_upper_bound(top) == "c" * 32 + "\U0010ffff" * 3
    assert string_upper_bound(top) > top
    assert string_upper_bound("c" * 32 + "\U0010ffff") == "c" * 32 + "\U0010ffff"


def test_timestamps_keep_milliseconds_rounding_the_minimum_down_and_the_maximum_up(tmp_path):
    assert timestamp_text(dt.datetime(2024, 1, 1, 9, 0, 0, 1500, tzinfo=UTC), up=False) == "2024-01-01T09:00:00.001"
    assert timestamp_text(dt.datetime(2024, 1, 1, 9, 0, 0, 1500, tzinfo=UTC), up=True) == "2024-01-01T09:00:00.002"
    assert timestamp_text(dt.datetime(2024, 12, 31, 23, 59, 59, 999001), up=True) == "2025-01-01T00:00:00.000"
    assert timestamp_text(dt.datetime(33, 1, 1, 0, 0), up=False) == "0033-01-01T00:00:00.000"
    table = pa.table({"at": pa.array([dt.datetime(2024, 1, 1, 9, 0, 0, 1500), dt.datetime(2024, 1, 2, 0, 0, 0, 999)],
                                     pa.timestamp("us", tz="UTC"))})
    stats = json.loads(file_stats(footer(tmp_path, table)))
    assert stats["minValues"] == {"at": "2024-01-01T09:00:00.001Z"}
    assert stats["maxValues"] == {"at": "2024-01-02T00:00:00.001Z"}


def test_a_file_of_nulls_and_floats_has_counts_only(tmp_path):
    table = pa.table({"x": pa.array([None, None], pa.int64()), "f": pa.array([float("nan"), 1.0])})
    assert file_stats(footer(tmp_path, table)) == '{"numRecords":2,"nullCount":{"x":2,"f":0}}'
