"""The store interface shared by both engines."""

from __future__ import annotations

import abc
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from pyspark.sql import Column, DataFrame, Observation, SparkSession

from novacrm_spark.errors import NovaCrmError, SelectionError
from novacrm_spark.frames import constant_frame
from novacrm_spark.metrics import observed_or_counted
from novacrm_spark.paths import is_local, local_path
from novacrm_spark.retention import DEFAULT_PROPERTIES
from novacrm_spark.store._errors import writing

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; Delta's own conflict check still guards each table
    fcntl = None

LAYERS = ("staging", "core", "marts", "quarantine")
# The pipeline's own bookkeeping tables: not layers, never served. ``_meta``: the run manifest and
# the usage watermark, published with the run; ``_runs``: the run results (``_runs/results``).
META_LAYER = "_meta"
RUNS_LAYER = "_runs"
BOOKKEEPING_LAYERS = (META_LAYER, RUNS_LAYER)
# A table name as typed (``show``): a plain identifier, like every model's.
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A table's folder: any single folder name (tables placed by hand, e.g. ``my-table``, are served
# too), but never a path or a hidden name, so no table can reach outside its layer's folder.
TABLE_FOLDER = re.compile(r"[^/\\.][^/\\]*")
PUBLISH_LOCK = "_publish.lock"


def parse_table_name(text: str) -> tuple[str | None, str]:
    """``NAME`` -> (None, NAME); ``LAYER.NAME`` -> (LAYER, NAME); anything else (``../../etc``) is refused.

    Example: ``parse_table_name("quarantine.accounts")`` -> ``("quarantine", "accounts")``.
    """
    layer, dot, name = text.partition(".")
    if not dot:
        layer, name = None, text
    if (layer is not None and layer not in LAYERS) or not TABLE_NAME.fullmatch(name):
        raise SelectionError(f"table must be NAME or LAYER.NAME with LAYER one of {', '.join(LAYERS)}; got {text!r}")
    return layer, name


class StoreError(NovaCrmError):
    """A write the table cannot take, e.g. a partition replace on a table partitioned differently."""


@dataclass
class StagedWrite:
    """A table version that is written but not yet visible to readers.

    ``dataframe`` reads the table as the commit will leave it (for audits and
    downstream models); ``commit`` publishes it atomically and returns the new
    version; ``abort`` discards it. ``written`` reads only the rows this write
    added (the same as ``dataframe`` unless partitions are being replaced) and
    ``num_rows`` counts them. ``metrics`` holds the values of the aggregates
    passed as ``observe``, computed over the written rows by the write itself.
    ``check`` raises :class:`CommitConflictError` when another writer committed
    to the table since the write was staged (``commit`` checks it too).
    """

    dataframe: DataFrame
    num_rows: int
    _commit: Callable[[], int] = field(repr=False)
    _abort: Callable[[], None] = field(repr=False)
    done: bool = False
    written: DataFrame | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    _check: Callable[[], None] = field(default=lambda: None, repr=False)
    metrics_counted: bool = False  # the observed metrics never arrived; a query counted them
    commits: int = 1  # versions ``commit`` adds: the embedded engine declares a new table's constraints apart

    def __post_init__(self) -> None:
        if self.written is None:
            self.written = self.dataframe

    def check(self) -> None:
        self._check()

    def commit(self) -> int:
        if self.done:
            raise RuntimeError("this staged write was already committed or aborted")
        self.done = True
        return self._commit()

    def abort(self) -> None:
        if not self.done:
            self.done = True
            self._abort()


@dataclass(frozen=True)
class WriteOptions:
    """How :meth:`TableStore.stage` writes a table (see there)."""

    description: str | None
    column_comments: Mapping[str, str]
    partition_by: list[str]
    replace_partitions: list[Any] | None
    observe: list[Column]
    columns: list[str] | None  # written columns; None: all
    # CHECK constraints (name -> SQL) a full write declares; a partition replace keeps the table's
    constraints: Mapping[str, str] = field(default_factory=dict)


class TableStore(abc.ABC):
    """Read and publish Delta tables under ``<warehouse>/<layer>/<table>``."""

    engine: str = ""
    # Whether a staged write may compute its input DataFrame again before the commit
    # (delta-spark's commit writes from a cache that Spark may have evicted). If not,
    # the runner may release that input's lineage once the write is staged.
    recomputes_input: bool = True

    def __init__(self, spark: SparkSession, warehouse: str, properties: Mapping[str, str] | None = None) -> None:
        self.spark = spark
        self.warehouse = str(warehouse).rstrip("/")
        # The table properties every write sets (the retention settings); Delta's own defaults unless given.
        self.properties = dict(DEFAULT_PROPERTIES if properties is None else properties)

    def table_path(self, layer: str, table: str) -> str:
        # User input is checked by parse_table_name; a bad name here is a bug.
        if layer not in (*LAYERS, *BOOKKEEPING_LAYERS) or not TABLE_FOLDER.fullmatch(table):
            raise ValueError(f"not a table: {layer!r}.{table!r}; layers are {LAYERS}")
        return f"{self.warehouse}/{layer}/{table}"

    @abc.abstractmethod
    def exists(self, layer: str, table: str) -> bool:
        """True when the table has at least one committed version."""

    @abc.abstractmethod
    def version(self, layer: str, table: str) -> int | None:
        """The latest committed version, or None when the table does not exist."""

    @abc.abstractmethod
    def restore(self, layer: str, table: str, version: int) -> int:
        """Commit the table's ``version`` again as its newest version (Delta RESTORE); returns the new one."""

    @abc.abstractmethod
    def read(self, layer: str, table: str, version: int | None = None) -> DataFrame:
        """The table (or an older ``version`` of it) as a DataFrame."""

    def stage(
        self,
        df: DataFrame,
        layer: str,
        table: str,
        description: str | None = None,
        column_comments: Mapping[str, str] | None = None,
        partition_by: Sequence[str] | None = None,
        replace_partitions: Iterable[Any] | None = None,
        observe: Sequence[Column] = (),
        columns: Sequence[str] | None = None,
        constraints: Mapping[str, str] | None = None,
    ) -> StagedWrite:
        """Write ``df`` as the next version of the table, without publishing it.

        ``observe``: named aggregate columns (e.g. ``F.sum(...).alias("bad")``)
        computed over the written rows while they are written; their values
        come back in ``StagedWrite.metrics``. ``columns`` (default: all) are the
        columns written; ``observe`` sees every column of ``df``, e.g. a check's
        flag column that is not written. One observation serves the whole write:
        Spark Connect delivers only the outermost observation of a plan.

        ``constraints`` (name -> SQL, see :mod:`novacrm_spark.quality.constraints`)
        become the table's Delta CHECK constraints, replacing any it had.

        ``partition_by`` lays the files out by those columns (Hive-style folders).
        With ``replace_partitions`` (partition values, e.g. ``[date(2024, 3, 1)]``,
        or mappings column -> value) the commit replaces only those partitions
        and keeps the others; every row of ``df`` must fall in one of them.

        Example::

            >>> store.stage(march_rows, "core", "fct_usage", partition_by=["event_month"],
            ...             replace_partitions=[date(2024, 3, 1)]).commit()
        """
        options = WriteOptions(description, dict(column_comments or {}), list(partition_by or []),
                               None if replace_partitions is None else list(replace_partitions), list(observe),
                               None if columns is None else list(columns), dict(constraints or {}))
        return self._stage(df, layer, table, options)

    @abc.abstractmethod
    def _stage(self, df: DataFrame, layer: str, table: str, options: WriteOptions) -> StagedWrite:
        """:meth:`stage`, as each engine writes."""

    @staticmethod
    def observed(
        df: DataFrame, metrics: Sequence[Column], columns: Sequence[str] | None = None
    ) -> tuple[DataFrame, Observation | None]:
        """``df`` with ``metrics`` attached, then only ``columns``, and the observation that will hold their values."""
        observation = Observation() if metrics else None
        if observation is not None:
            df = df.observe(observation, *metrics)
        return (df if columns is None else df.select(*columns)), observation

    @staticmethod
    def metric_values(observation: Observation | None, df: DataFrame, metrics: Sequence[Column]
                      ) -> tuple[dict[str, Any], bool]:
        """The observed values of ``metrics``, and whether they had to be counted with a query instead."""
        counted: list[bool] = []
        values = observed_or_counted(observation, df, metrics, lambda: counted.append(True))
        return values, bool(counted)

    def overwrite(self, df: DataFrame, layer: str, table: str, **kwargs) -> int:
        """Stage and publish ``df`` in one go; returns the new version."""
        return self.stage(df, layer, table, **kwargs).commit()

    def read_rows(self, layer: str, table: str, version: int | None = None) -> list[dict[str, Any]]:
        """The rows of a small bookkeeping table (the run manifest, the watermark), as dicts; never table data."""
        return [row.asDict() for row in self.read(layer, table, version).collect()]

    def overwrite_rows(self, rows: Sequence[tuple], schema: str, layer: str, table: str,
                       description: str | None = None) -> int:
        """Replace a small bookkeeping table with ``rows`` in one commit; ``schema`` is plain-column DDL."""
        return self.overwrite(constant_frame(self.spark, schema, rows), layer, table, description=description)

    def replace_partition_rows(self, rows: Sequence[tuple], schema: str, layer: str, table: str, column: str,
                               value: str, description: str | None = None) -> int:
        """Replace (or add) the partition ``column = value`` of a small bookkeeping table with ``rows``,
        keeping every other partition, in one commit; returns the version. The table is partitioned by
        ``column`` (the first write creates it so); every row holds ``value`` there."""
        return self.stage(constant_frame(self.spark, schema, rows), layer, table, description=description,
                          partition_by=[column], replace_partitions=[value]).commit()

    def publish(self, writes: Sequence[StagedWrite]) -> list[int]:
        """Commit ``writes`` in order, after checking all of them: a conflict on any publishes none.

        Runs under the warehouse's publish lock, so two runs on one warehouse
        publish one after the other and the later one finds every table the
        earlier one changed since it was staged, before it commits anything.
        On an error the caller aborts the writes not yet committed.
        """
        if not writes:
            return []
        with publish_lock(self.warehouse):
            for write in writes:
                write.check()
            return [write.commit() for write in writes]


@contextmanager
def publish_lock(warehouse: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<warehouse>/_publish.lock`` (local warehouses; a no-op on object stores)."""
    if fcntl is None or not is_local(warehouse):
        yield
        return
    path = os.path.join(local_path(warehouse), PUBLISH_LOCK)
    with writing("the publish lock", path, note=""):
        handle = open(path, "a")  # noqa: SIM115 - held open for the lock's lifetime
    with handle:
        # Blocks while another run publishes (a second or so); released on close or when a process dies.
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
