"""The store interface shared by both engines."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Callable, Mapping

from pyspark.sql import DataFrame, SparkSession

LAYERS = ("staging", "core", "marts", "quarantine")


@dataclass
class StagedWrite:
    """A table version that is written but not yet visible to readers.

    ``dataframe`` reads the staged data (for audits); ``commit`` publishes it
    atomically and returns the new version; ``abort`` discards it.
    """

    dataframe: DataFrame
    num_rows: int
    _commit: Callable[[], int] = field(repr=False)
    _abort: Callable[[], None] = field(repr=False)
    done: bool = False

    def commit(self) -> int:
        if self.done:
            raise RuntimeError("this staged write was already committed or aborted")
        self.done = True
        return self._commit()

    def abort(self) -> None:
        if not self.done:
            self.done = True
            self._abort()


class TableStore(abc.ABC):
    """Read and publish Delta tables under ``<warehouse>/<layer>/<table>``."""

    engine: str = ""

    def __init__(self, spark: SparkSession, warehouse: str) -> None:
        self.spark = spark
        self.warehouse = str(warehouse).rstrip("/")

    def table_path(self, layer: str, table: str) -> str:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
        return f"{self.warehouse}/{layer}/{table}"

    @abc.abstractmethod
    def exists(self, layer: str, table: str) -> bool:
        """True when the table has at least one committed version."""

    @abc.abstractmethod
    def version(self, layer: str, table: str) -> int | None:
        """The latest committed version, or None when the table does not exist."""

    @abc.abstractmethod
    def read(self, layer: str, table: str, version: int | None = None) -> DataFrame:
        """The table (or an older ``version`` of it) as a DataFrame."""

    @abc.abstractmethod
    def stage(
        self,
        df: DataFrame,
        layer: str,
        table: str,
        description: str | None = None,
        column_comments: Mapping[str, str] | None = None,
    ) -> StagedWrite:
        """Write ``df`` as the next full version of the table, without publishing it."""

    def overwrite(self, df: DataFrame, layer: str, table: str, **kwargs) -> int:
        """Stage and publish ``df`` in one go; returns the new version."""
        return self.stage(df, layer, table, **kwargs).commit()
