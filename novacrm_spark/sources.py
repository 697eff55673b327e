"""The five raw exports: their files, columns and keys, and a strict reader.

Every file is read as text with an explicit schema (never inference); typing
and validation happen in the staging models, so a bad value becomes a
quarantined row instead of a silent null. Files follow RFC 4180: a quoted
field may hold commas, doubled quotes and newlines, and stays one record; a
record whose field count differs from the header's keeps its text in
:data:`RAW_RECORD` (its columns are not used).

Example::

    >>> raw = read_raw(spark, "data/raw", "accounts")
    >>> raw.columns[:3]
    ['account_id', 'company_name', 'industry']
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType

from novacrm_spark.errors import InputFileError
from novacrm_spark.frames import constant_frame


# A record whose field count differs from the header's: its text as in the file (else null).
RAW_RECORD = "raw_record"


@dataclass(frozen=True)
class RawSource:
    name: str
    key: str
    columns: tuple[str, ...]

    @property
    def file_name(self) -> str:
        return f"raw_{self.name}.csv"

    @property
    def schema(self) -> StructType:
        return StructType([StructField(c, StringType(), True) for c in self.columns])

    @property
    def read_schema(self) -> StructType:
        """:attr:`schema` plus :data:`RAW_RECORD`, where the reader puts a record of the wrong width."""
        return StructType([*self.schema.fields, StructField(RAW_RECORD, StringType(), True)])


SOURCES: dict[str, RawSource] = {
    s.name: s
    for s in (
        RawSource(
            "accounts",
            "account_id",
            ("account_id", "company_name", "industry", "employee_count", "plan_tier",
             "account_owner", "region", "signup_date", "status"),
        ),
        RawSource(
            "subscriptions",
            "subscription_id",
            ("subscription_id", "account_id", "product_name", "plan_tier", "mrr_amount",
             "start_date", "end_date", "status"),
        ),
        RawSource(
            "invoices",
            "invoice_id",
            ("invoice_id", "account_id", "invoice_date", "amount", "currency", "status", "line_items"),
        ),
        RawSource(
            "usage_events",
            "event_id",
            ("event_id", "account_id", "user_id", "event_name", "event_timestamp", "properties"),
        ),
        RawSource(
            "support_tickets",
            "ticket_id",
            ("ticket_id", "account_id", "created_at", "resolved_at", "priority", "category",
             "status", "satisfaction_score"),
        ),
    )
}


@dataclass(frozen=True, order=True)
class RawFile:
    """One raw CSV file; ordering by (modification_time, name) is the incremental watermark's order."""

    modification_time: int  # milliseconds since the epoch, as the filesystem reports it
    name: str
    path: str


def source_path(input_dir: str, source: str) -> str:
    """The export's file ``raw_<source>.csv`` (what the run reports; see :func:`source_location`)."""
    return f"{str(input_dir).rstrip('/')}/{SOURCES[source].file_name}"


def folder_path(input_dir: str, source: str) -> str:
    """The folder form of an export: ``raw_<source>/`` holding daily (or any) ``*.csv`` files."""
    return f"{str(input_dir).rstrip('/')}/raw_{source}"


def _hadoop_fs(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm  # noqa: SLF001 - Hadoop's FileSystem lists local and object-store paths alike
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path  # noqa: SLF001


def is_folder_source(spark: SparkSession, input_dir: str, source: str) -> bool:
    """True when the export is a folder ``raw_<source>/`` rather than one file."""
    fs, path = _hadoop_fs(spark, folder_path(input_dir, source))
    return bool(fs.exists(path) and fs.getFileStatus(path).isDirectory())


def source_location(spark: SparkSession, input_dir: str, source: str) -> str:
    """The folder ``raw_<source>/`` when there is one, else the file ``raw_<source>.csv``."""
    return folder_path(input_dir, source) if is_folder_source(spark, input_dir, source) else source_path(input_dir, source)


def source_bytes(spark: SparkSession, input_dir: str, source: str) -> int:
    """Size of the export on disk (the file, or every file of its folder); 0 when it is missing."""
    fs, path = _hadoop_fs(spark, source_location(spark, input_dir, source))
    return int(fs.getContentSummary(path).getLength()) if fs.exists(path) else 0


def list_source_files(spark: SparkSession, input_dir: str, source: str) -> list[RawFile]:
    """The export's files with their modification times, oldest first (no file contents are read).

    Example::

        >>> [f.name for f in list_source_files(spark, "data/raw", "usage_events")]
        ['2025-01-30.csv', '2025-01-31.csv']      # a folder raw_usage_events/; else ['raw_usage_events.csv']
    """
    location = source_location(spark, input_dir, source)
    fs, path = _hadoop_fs(spark, location)
    if not fs.exists(path):
        raise InputFileError(f"{location}: file not found (expected the {source} export here)")
    # Paths keep the form the user gave (not Hadoop's qualified URI), so messages name them as given.
    folder = fs.getFileStatus(path).isDirectory()
    files = [
        RawFile(
            int(st.getModificationTime()),
            st.getPath().getName(),
            f"{location}/{st.getPath().getName()}" if folder else location,
        )
        for st in fs.listStatus(path)
        if st.isFile() and st.getPath().getName().endswith(".csv")
    ]
    if not files:
        raise InputFileError(f"{location}: folder holds no .csv files (expected the {source} export here)")
    return sorted(files)


def read_raw(spark: SparkSession, input_dir: str, source: str, files: list[RawFile] | None = None) -> DataFrame:
    """The raw export (or only ``files`` of it) as text columns: ``SOURCES[source].read_schema``.

    RFC 4180: a quoted field may hold commas, doubled quotes and line breaks.
    A record with more or fewer fields than the header keeps its text in
    :data:`RAW_RECORD` (Spark pads or cuts its columns; staging ignores them).
    Blank lines are not records. A folder ``raw_<source>/`` is read whole
    (every ``*.csv`` in it). Spark's hidden ``_metadata.file_name`` /
    ``_metadata.file_modification_time`` columns tell each row's file when needed.

    Example: the record ``ACC-1,"Acme, Inc<newline>EMEA",...`` is one row with
    ``company_name`` ``"Acme, Inc\nEMEA"``; ``ACC-2,Beta`` (2 of 9 fields) has
    ``raw_record`` ``"ACC-2,Beta"``.
    """
    spec = SOURCES[source]
    if files is not None:
        paths = [f.path for f in files]
    elif is_folder_source(spark, input_dir, source):
        paths = [f"{folder_path(input_dir, source)}/*.csv"]
    else:
        paths = [source_path(input_dir, source)]
    if not paths:
        return constant_frame(spark, spec.read_schema)
    return (
        spark.read.option("header", "true")
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", RAW_RECORD)
        # A quoted line break belongs to its record. It costs splitting: a file is parsed
        # by one task (measured in docs/benchmarks.md).
        .option("multiLine", "true")
        .option("escape", '"')  # RFC 4180: a quote inside a quoted field is doubled
        .option("encoding", "UTF-8")
        .schema(spec.read_schema)
        .csv(paths)
    )
