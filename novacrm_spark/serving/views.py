"""The SQL text of the serving views (pure functions, no Spark session).

A view over an embedded-engine table reads exactly the Parquet files of one
Delta version: a Delta folder also holds the files of older versions, so a
view never points at the folder itself.

Example::

    >>> [g.source for g in file_groups(["file:/w/marts/t/part-2.parquet", "file:/w/marts/t/part-1.parquet"])]
    ['parquet.`file:/w/marts/t/{part-1.parquet,part-2.parquet}`']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence
from urllib.parse import unquote

from pyspark.sql.types import StructField, StructType

from novacrm_spark.serving.sqltext import escape_glob, one_line, quote_identifier, string_literal
from novacrm_spark.serving.tables import LAYER_COMMENTS, TableRef


# Hive's (and Delta's) folder name for a null partition value: `col=__HIVE_DEFAULT_PARTITION__`.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class FileGroup:
    """Files of one folder; ``partition`` holds the ``col=value`` folder names above them."""

    folder: str
    names: tuple[str, ...]
    partition: tuple[tuple[str, str | None], ...] = ()

    @property
    def source(self) -> str:
        """``parquet.`<folder>/{a,b}``` : a glob naming exactly these files."""
        glob = escape_glob(self.folder) + "/{" + ",".join(escape_glob(n) for n in self.names) + "}"
        return "parquet." + quote_identifier(glob)


def file_groups(files: Iterable[str], columns: Iterable[str] = ()) -> list[FileGroup]:
    """Group data files by folder, reading partition values of ``columns`` from ``col=value`` folders.

    ``files`` are URIs as Spark lists them (``file:/w/t/part-1.parquet``).
    Partitioned Delta tables keep partition columns out of the Parquet files,
    so the view must supply them from the folder names.
    """
    by_folder: dict[str, list[str]] = {}
    for uri in files:
        path = unquote(uri)  # Spark lists URIs (%20); a SQL path is a plain Hadoop path
        folder, _, name = path.rpartition("/")
        by_folder.setdefault(folder, []).append(name)
    known = set(columns)
    return [
        FileGroup(folder, tuple(sorted(names)), partition_of(folder, known))
        for folder, names in sorted(by_folder.items())
    ]


def partition_of(folder: str, columns: set[str]) -> tuple[tuple[str, str | None], ...]:
    """``(column, value)`` pairs from the trailing ``col=value`` segments of ``folder``."""
    found = []
    for segment in reversed(folder.split("/")):
        column, sep, raw = segment.partition("=")
        column = unquote(column)
        if not sep or column not in columns:
            break
        found.append((column, None if raw == NULL_PARTITION else unquote(raw)))  # Hive escapes as %XX
    return tuple(reversed(found))


def select_sql(schema: StructType, groups: Sequence[FileGroup | str]) -> str:
    """``SELECT <columns> FROM <source>`` per file group, unioned; typed and empty without any.

    A group given as text is a whole-table source such as ``delta.`<path>```.
    Partition columns of a :class:`FileGroup` come from its folder names as typed literals.
    """
    if not groups:
        nulls = ", ".join(_typed(f, None) for f in schema.fields)
        return f"SELECT {nulls} WHERE false"
    selects = []
    for group in groups:
        source, partition = (group, {}) if isinstance(group, str) else (group.source, dict(group.partition))
        columns = ", ".join(
            _typed(f, partition[f.name]) if f.name in partition else quote_identifier(f.name) for f in schema.fields
        )
        selects.append(f"SELECT {columns} FROM {source}")
    return " UNION ALL ".join(selects)


def _typed(field: StructField, value: str | None) -> str:
    literal = "NULL" if value is None else string_literal(value)
    return f"CAST({literal} AS {field.dataType.simpleString()}) AS {quote_identifier(field.name)}"


def view_sql(table: TableRef, schema: StructType, query: str, comment: str) -> str:
    """``CREATE OR REPLACE VIEW layer.name (columns with comments) COMMENT ... AS query``."""
    columns = []
    for field in schema.fields:
        column = quote_identifier(field.name)
        if field.metadata.get("comment"):
            column += " COMMENT " + string_literal(one_line(str(field.metadata["comment"])))
        columns.append(column)
    text = f"CREATE OR REPLACE VIEW {table.sql_name} ({', '.join(columns)})"
    if comment:
        text += " COMMENT " + string_literal(comment)
    return f"{text} AS {query}"


def database_sql(layer: str, location: str) -> str:
    """``CREATE DATABASE IF NOT EXISTS layer COMMENT ... LOCATION ...`` (the location holds no data)."""
    return (
        f"CREATE DATABASE IF NOT EXISTS {quote_identifier(layer)} "
        f"COMMENT {string_literal(LAYER_COMMENTS.get(layer, ''))} LOCATION {string_literal(location)}"
    )
