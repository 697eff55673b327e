"""Hive-style partitioned Parquet files for the embedded engine.

A partitioned Delta table keeps each partition's files under
``<column>=<value>/`` and, like Spark's own Delta writer, leaves the partition
columns out of the Parquet files: their values live in the ``add`` action's
``partitionValues`` (and in the directory name, so Spark's partition discovery
restores them on read).

Example::

    >>> partition_value(datetime.date(2024, 3, 1))
    '2024-03-01'
    >>> partition_dir(["event_month"], ("2024-03-01",))
    'event_month=2024-03-01'
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from functools import reduce
from typing import Any, Iterable, Iterator, Mapping, Sequence

import pyarrow as pa

# Spark's and Delta's directory name for a null partition value.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def partition_value(value: Any) -> str | None:
    """The text Delta stores for a partition value (ISO dates; None stays None)."""
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def partition_dir(columns: Sequence[str], values: Sequence[str | None]) -> str:
    """``col=value/col2=value2`` for one partition."""
    return "/".join(f"{c}={NULL_PARTITION if v is None else v}" for c, v in zip(columns, values))


def normalise_partitions(columns: Sequence[str], partitions: Iterable[Any]) -> set[tuple[str | None, ...]]:
    """Partitions given as values (one column) or mappings -> a set of tuples of Delta text values.

    Example: ``normalise_partitions(["event_month"], [date(2024, 3, 1)])`` -> ``{("2024-03-01",)}``.
    """
    result = set()
    for item in partitions:
        if isinstance(item, Mapping):
            result.add(tuple(partition_value(item[c]) for c in columns))
        elif isinstance(item, (tuple, list)):
            result.add(tuple(partition_value(v) for v in item))
        else:
            result.add((partition_value(item),))
    return result


def _write_table(writers: dict, root: str, name_prefix: str, key: tuple, table: pa.Table, schema: pa.Schema,
                 subdir: str) -> None:
    import pyarrow.parquet as pq  # imported on the executor

    if key not in writers:
        if subdir:
            os.makedirs(os.path.join(root, subdir), exist_ok=True)
        relative = os.path.join(subdir, f"{name_prefix}-{uuid.uuid4().hex}.snappy.parquet")
        writers[key] = [pq.ParquetWriter(os.path.join(root, relative), schema, compression="snappy"), relative, 0]
    entry = writers[key]
    entry[0].write_table(table.cast(schema))
    entry[2] += table.num_rows


def _groups(table: pa.Table, columns: Sequence[str]) -> Iterator[tuple[tuple, pa.Table]]:
    """Split one batch into its partitions: (values, rows without the partition columns)."""
    import pyarrow.compute as pc  # imported on the executor

    if not columns:
        yield (), table
        return
    for combo in table.select(list(columns)).group_by(list(columns)).aggregate([]).to_pylist():
        masks = [
            pc.is_null(table[c]) if combo[c] is None else pc.fill_null(pc.equal(table[c], combo[c]), False)
            for c in columns
        ]
        rows = table.filter(reduce(pc.and_, masks))
        yield tuple(partition_value(combo[c]) for c in columns), rows.drop_columns(list(columns))


def parquet_writer(root: str, arrow_schema: pa.Schema, partition_by: Sequence[str], write_id: str):
    """The per-task function run by executors: write one file per partition seen, yield their metadata.

    Metadata rows match ``FILE_METADATA_SCHEMA``; ``partition_values`` is JSON.
    """
    columns = list(partition_by)
    data_schema = pa.schema([f for f in arrow_schema if f.name not in columns])

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        writers: dict[tuple, list] = {}
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                table = pa.Table.from_batches([batch])
                for key, rows in _groups(table, columns):
                    _write_table(writers, root, f"part-{write_id}", key, rows, data_schema,
                                 partition_dir(columns, key))
        finally:
            for writer, _relative, _rows in writers.values():
                writer.close()
        metadata = []
        for key, (_writer, relative, rows) in writers.items():
            stat = os.stat(os.path.join(root, relative))
            metadata.append(
                {
                    "path": relative,
                    "size": stat.st_size,
                    "num_records": rows,
                    "modification_time": int(stat.st_mtime * 1000),
                    "partition_values": json.dumps(dict(zip(columns, key))),
                }
            )
        if metadata:
            yield pa.RecordBatch.from_pylist(metadata)

    return write_partition


def remove_files_of_write(root: str, write_id: str) -> None:
    """Delete the files one (failed or aborted) write left, in the table folder and its partitions."""
    for folder, _dirs, names in os.walk(root):
        if "_delta_log" in folder:
            continue
        for name in names:
            if name.startswith(f"part-{write_id}-"):
                os.remove(os.path.join(folder, name))
