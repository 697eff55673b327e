"""Moving Spark's Parquet output into a Delta table folder, Hive-style partitioned.

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
import os
import shutil
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import unquote

# Spark's and Delta's directory name for a null partition value.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# A staged write's Spark output folder inside the table folder; "_" keeps Delta readers out.
SCRATCH = "_staging"


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


@dataclass(frozen=True)
class WrittenFile:
    """One Parquet file of a write: where it is (relative to the table) and what it holds."""

    path: str  # relative to the table folder, e.g. ``event_month=2024-03-01/part-<id>-00000-<uuid>.c000.snappy.parquet``
    size: int
    num_records: int
    modification_time: int  # milliseconds since the epoch
    partition_values: dict[str, str | None]
    stats: str  # the add action's statistics, JSON (see _stats)


def parse_partition_dir(relative_dir: str, columns: Sequence[str]) -> dict[str, str | None]:
    """``event_month=2024-03-01`` -> ``{"event_month": "2024-03-01"}`` (Hive escapes undone; null restored).

    Example::

        >>> parse_partition_dir("m=__HIVE_DEFAULT_PARTITION__", ["m"])
        {'m': None}
    """
    values: dict[str, str | None] = {}
    for segment in [s for s in relative_dir.split("/") if s]:
        name, _, text = segment.partition("=")
        values[unquote(name)] = None if text == NULL_PARTITION else unquote(text)
    missing = [c for c in columns if c not in values]
    if missing:
        raise ValueError(f"{relative_dir!r} does not name partition column(s) {missing}")
    return {c: values[c] for c in columns}


def adopt_spark_output(root: str, scratch: str, write_id: str, columns: Sequence[str]) -> list[WrittenFile]:
    """Move the Parquet files Spark wrote under ``scratch`` into the table folder ``root``.

    Spark's writer leaves ``part-*.parquet`` files (in ``col=value/`` folders when
    partitioned) plus bookkeeping (``_SUCCESS``, ``.crc``). Each data file is
    renamed to ``<col=value/>part-<write_id>-<Spark's name>`` so an aborted write
    can be found and removed; empty files are dropped. Only file metadata is read
    (the Parquet footer: row count and column statistics). The scratch folder is removed.
    """
    import pyarrow.parquet as pq

    from novacrm_spark.store._stats import file_stats

    files = []
    for folder, _dirs, names in os.walk(scratch):
        relative_dir = os.path.relpath(folder, scratch)
        relative_dir = "" if relative_dir == "." else relative_dir
        for name in sorted(names):
            if not name.endswith(".parquet") or name.startswith((".", "_")):
                continue
            source = os.path.join(folder, name)
            footer = pq.read_metadata(source)
            rows = footer.num_rows
            if rows == 0:
                continue  # Spark writes a schema-only file for an empty result; the log needs none
            relative = os.path.join(relative_dir, f"part-{write_id}-{name.removeprefix('part-')}")
            target = os.path.join(root, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(source, target)
            stat = os.stat(target)
            files.append(WrittenFile(relative, stat.st_size, rows, int(stat.st_mtime * 1000),
                                     parse_partition_dir(relative_dir, columns), file_stats(footer)))
    remove_scratch(root, scratch)
    return sorted(files, key=lambda f: f.path)


def scratch_dir(root: str, write_id: str) -> str:
    """Where Spark writes a staged table's files before they are moved in (hidden from Delta readers)."""
    return os.path.join(root, SCRATCH, write_id)


def remove_scratch(root: str, scratch: str) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        os.rmdir(os.path.join(root, SCRATCH))  # only when no other write is using it
    except OSError:
        pass


def remove_files_of_write(root: str, write_id: str) -> None:
    """Delete the files one (failed or aborted) write left, in the table folder and its partitions."""
    remove_scratch(root, scratch_dir(root, write_id))
    for folder, _dirs, names in os.walk(root):
        if "_delta_log" in folder:
            continue
        for name in names:
            if name.startswith(f"part-{write_id}-"):
                os.remove(os.path.join(folder, name))
