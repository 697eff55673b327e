"""Early checks of the raw files: a bad file stops the run before anything is written.

Each check names the file and the problem: missing, empty, not CSV, not UTF-8,
or a header that is not the export's (see :data:`novacrm_spark.sources.SOURCES`).
A local file is checked by the driver alone; any other path through Spark.

Example::

    >>> check_raw_file(spark, "data/raw", "usage_events")   # None, or InputFileError naming the file
"""

from __future__ import annotations

import codecs
import csv
import re

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from novacrm_spark.errors import InputFileError
from novacrm_spark.sources import SOURCES, RawFile, list_exports


def check_raw_file(spark: SparkSession, input_dir: str, source: str, files: list[RawFile] | None = None) -> None:
    """Check each of ``files``, by default every file of the export (missing: :class:`InputFileError`).

    Example::

        >>> check_raw_file(spark, "data/raw", "usage_events")   # None, or InputFileError naming the file
    """
    for raw_file in files if files is not None else list_exports(spark, input_dir)[source].require_files():
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
