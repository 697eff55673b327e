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

import codecs
import csv
import re
from dataclasses import dataclass

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


def check_raw_file(spark: SparkSession, input_dir: str, source: str, files: list[RawFile] | None = None) -> None:
    """Check the export, or each of ``files`` (every file of a ``raw_<source>/`` folder by default).

    Example::

        >>> check_raw_file(spark, "data/raw", "usage_events")   # None, or InputFileError naming the file
    """
    if files is None and not is_folder_source(spark, input_dir, source):
        check_one_file(spark, source_path(input_dir, source), source)
        return
    for raw_file in files if files is not None else list_source_files(spark, input_dir, source):
        check_one_file(spark, raw_file.path, source)


def check_one_file(spark: SparkSession, path: str, source: str) -> None:
    """Fail early, naming the file, when it is missing, empty, not CSV, not UTF-8 or has the wrong header.

    A header-only file is fine (zero rows is valid). A local file is checked by
    streaming its bytes through the driver's UTF-8 decoder (about 1 GB/s, no
    Spark job); any other path (object storage, DBFS) through Spark: the first
    line for the header, then one aggregation over every line.

    Example::

        >>> check_one_file(spark, "data/raw/raw_accounts.csv", "accounts")   # None, or raises InputFileError
    """
    local = local_file(path)
    if local is None:
        header_line = _first_line(spark, path, source)
        _check_header(path, source, header_line)
        _check_utf8(spark, path)
        return
    _check_header(path, source, _first_line_local(local, path, source))
    _check_utf8_local(local, path)


def local_file(path: str) -> str | None:
    """The filesystem path of a local ``path`` (plain or ``file:``), else None.

    Example: ``local_file("file:///data/raw_accounts.csv")`` -> ``"/data/raw_accounts.csv"``;
    ``local_file("s3a://bucket/raw_accounts.csv")`` -> None.
    """
    if path.startswith("file:"):
        return "/" + path[len("file:"):].lstrip("/")
    # Any other scheme (s3a:, abfss:, dbfs:, hdfs:) is read through Spark; one letter is a Windows drive.
    return None if re.match(r"[A-Za-z][A-Za-z0-9+.\-]+:", path) else path


def _first_line_local(local: str, path: str, source: str) -> str:
    spec = SOURCES[source]
    try:
        with open(local, "rb") as handle:
            first = handle.readline()
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found (expected the {source} export here)") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    text = first.decode("utf-8", errors="replace").rstrip("\r\n")
    if not text.strip():
        raise InputFileError(f"{path}: file is empty (expected a header row: {', '.join(spec.columns)})")
    return text.lstrip("\ufeff")


def _check_utf8_local(local: str, path: str) -> None:
    """Decode the file in 16 MB chunks; only a file that fails is scanned again line by line."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(local, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 24), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return
    except UnicodeDecodeError:
        pass
    # A UTF-8 sequence never holds a newline byte, so lines can be judged one by one.
    bad, first = 0, None
    with open(local, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                bad += 1
                first = first or number
    _raise_not_utf8(path, bad, first)


def _first_line(spark: SparkSession, path: str, source: str) -> str:
    spec = SOURCES[source]
    try:
        first = spark.read.text(path).limit(1).first()
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
            raise InputFileError(f"{path}: file not found (expected the {source} export here)") from None
        raise InputFileError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
    if first is None or not first[0].strip():
        raise InputFileError(f"{path}: file is empty (expected a header row: {', '.join(spec.columns)})")
    return first[0].lstrip("\ufeff")


def _check_header(path: str, source: str, header_line: str) -> None:
    spec = SOURCES[source]
    if "\ufffd" in header_line or "\x00" in header_line:
        raise InputFileError(f"{path}: not a UTF-8 CSV text file (the first line holds binary or non-UTF-8 bytes)")
    if header_line.lstrip().startswith(("{", "[")):
        raise InputFileError(f"{path}: not a CSV file (it looks like JSON); expected header: {', '.join(spec.columns)}")
    header = [c.strip() for c in next(csv.reader([header_line]))]
    if header == list(spec.columns):
        return
    missing = [c for c in spec.columns if c not in header]
    unexpected = [c for c in header if c not in spec.columns]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected column(s) {', '.join(unexpected)}")
    if len(missing) == 1 and len(unexpected) == 1:
        problems.append(f"was {missing[0]} renamed to {unexpected[0]}?")
    if not problems:
        problems.append(f"columns out of order: {', '.join(header)}")
    if len(header) == 1 and len(spec.columns) > 1:
        problems.append("not a comma-separated CSV file?")
    raise InputFileError(f"{path}: {'; '.join(problems)} (expected header: {', '.join(spec.columns)})")


def _check_utf8(spark: SparkSession, path: str) -> None:
    """Count lines holding bytes that are not UTF-8 and find the first one.

    One aggregation per partition: its line count and the position (within the
    partition) of its first bad line. A single file's partitions are
    consecutive byte ranges, so the partition counts give the line number.
    """
    lines = spark.read.text(path).select(
        F.spark_partition_id().alias("part"),
        F.monotonically_increasing_id().alias("id"),
        # Spark keeps the file's raw bytes in its strings, so ask whether they are valid UTF-8.
        (~F.expr("is_valid_utf8(value)")).alias("bad"),
    )
    per_part = (
        lines.groupBy("part")
        .agg(
            F.count(F.lit(1)).alias("lines"),
            F.min("id").alias("first_id"),
            F.sum(F.col("bad").cast("long")).alias("bad_lines"),
            F.min(F.when(F.col("bad"), F.col("id"))).alias("first_bad_id"),
        )
        .orderBy("part")
        .collect()  # one small row per partition of the file
    )
    bad = sum(int(row["bad_lines"]) for row in per_part)
    if not bad:
        return
    before = 0
    for row in per_part:
        if row["first_bad_id"] is not None:
            line = before + int(row["first_bad_id"]) - int(row["first_id"]) + 1
            break
        before += int(row["lines"])
    _raise_not_utf8(path, bad, line)


def _raise_not_utf8(path: str, bad: int, first_line: int | None) -> None:
    raise InputFileError(
        f"{path}: not valid UTF-8: {bad} line(s) hold bytes that are not UTF-8, the first at line {first_line} "
        "(re-export the file as UTF-8)"
    )


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
