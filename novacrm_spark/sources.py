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

from dataclasses import dataclass, field

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
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
    size: int = field(default=0, compare=False)  # bytes


@dataclass(frozen=True)
class Export:
    """One source's export as listed: the file ``raw_<source>.csv``, a folder ``raw_<source>/``, or nothing.

    ``location`` keeps the form the user gave (not Spark's qualified URI), so messages name it as given.
    """

    source: str
    location: str
    folder: bool
    files: tuple[RawFile, ...]

    @property
    def size(self) -> int:
        """Bytes on disk (the file, or every ``.csv`` file of the folder); 0 when missing."""
        return sum(f.size for f in self.files)

    def require_files(self) -> list[RawFile]:
        """The export's files, oldest first; a missing export or an empty folder is an :class:`InputFileError`."""
        if not self.files:
            what = "folder holds no .csv files" if self.folder else "file not found"
            raise InputFileError(f"{self.location}: {what} (expected the {self.source} export here)")
        return sorted(self.files)


def source_path(input_dir: str, source: str) -> str:
    """The export's file ``raw_<source>.csv``."""
    return f"{str(input_dir).rstrip('/')}/{SOURCES[source].file_name}"


def folder_path(input_dir: str, source: str) -> str:
    """The folder form of an export: ``raw_<source>/`` holding daily (or any) ``*.csv`` files."""
    return f"{str(input_dir).rstrip('/')}/raw_{source}"


def list_exports(spark: SparkSession, input_dir: str) -> dict[str, Export]:
    """Every source's export under ``input_dir``, from file metadata only (no contents are read).

    Spark lists them (a ``binaryFile`` scan without its content column): it sees what it
    will read, local folders, object storage with the cluster's credentials, or DBFS
    and Volumes alike, over Spark Connect too. A folder ``raw_<source>/`` wins over a
    file ``raw_<source>.csv``; files Spark hides (``_x``, ``.x``) are not listed.

    Example::

        >>> exports = list_exports(spark, "data/raw")
        >>> [f.name for f in exports["usage_events"].require_files()]
        ['2025-01-30.csv', '2025-01-31.csv']      # a folder raw_usage_events/; else ['raw_usage_events.csv']
    """
    root = str(input_dir).rstrip("/")
    top = {f.name: f for _, f in _listed(spark, root, f"{root}/raw_*.csv")}
    in_folders: dict[str, list[RawFile]] = {}
    for parent, f in _listed(spark, root, f"{root}/raw_*/*.csv"):
        in_folders.setdefault(parent, []).append(f)
    exports = {}
    for source, spec in SOURCES.items():
        folder = in_folders.get(f"raw_{source}")
        if folder is not None:
            location = folder_path(root, source)
            files = tuple(RawFile(f.modification_time, f.name, f"{location}/{f.name}", f.size) for f in folder)
            exports[source] = Export(source, location, True, files)
        else:
            location = source_path(root, source)
            listed = top.get(spec.file_name)
            files = () if listed is None else (RawFile(listed.modification_time, listed.name, location, listed.size),)
            exports[source] = Export(source, location, False, files)
    return exports


# An empty file gives Spark no split to report its metadata from. It is listed as the newest
# file, so every run (an incremental one too) checks it, and stops naming it.
EMPTY_FILE_TIME = 2**63 - 1


def _listed(spark: SparkSession, root: str, pattern: str) -> list[tuple[str, RawFile]]:
    """(parent folder name, file) for every file matching ``pattern``; none when nothing matches."""
    try:  # a classic session fails at load(), a Spark Connect one when the rows are asked for
        listing = spark.read.format("binaryFile").load(pattern)
        paths = listing.inputFiles()  # every file, empty ones too
        rows = listing.select("path", F.unix_millis("modificationTime").alias("modified"), "length").collect()
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc):
            return []
        raise InputFileError(f"{root}: cannot be listed: {str(exc).splitlines()[0]}") from None
    # Spark spells one file differently in the two (file:/x, file:///x): match on the last two names.
    known = {_tail(row["path"]): (int(row["modified"]), int(row["length"])) for row in rows}
    listed = []
    for path in paths:
        parent, name = _tail(path)
        modified, size = known.get((parent, name), (EMPTY_FILE_TIME, 0))
        listed.append((parent, RawFile(modified, name, path, size)))
    return listed


def _tail(path: str) -> tuple[str, str]:
    parts = path.rstrip("/").rsplit("/", 2)
    return parts[-2], parts[-1]


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
    if files is None:
        files = list_exports(spark, input_dir)[source].require_files()
    paths = [f.path for f in files]
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
