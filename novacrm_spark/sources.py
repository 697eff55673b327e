"""The five raw exports: their files, columns and keys, and a strict reader.

Every file is read as text with an explicit schema (never inference); typing
and validation happen in the staging models, so a bad value becomes a
quarantined row instead of a silent null.

Example::

    >>> raw = read_raw(spark, "data/raw", "accounts")
    >>> raw.columns[:3]
    ['account_id', 'company_name', 'industry']
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from novacrm_spark.errors import InputFileError


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


def source_path(input_dir: str, source: str) -> str:
    return f"{str(input_dir).rstrip('/')}/{SOURCES[source].file_name}"


def check_raw_file(spark: SparkSession, input_dir: str, source: str) -> None:
    """Fail early, naming the file, when it is missing, empty, not UTF-8 or has the wrong header.

    Reads only the file's first line (through Spark, so object storage works too).
    """
    spec = SOURCES[source]
    path = source_path(input_dir, source)
    try:
        first = spark.read.text(path).limit(1).first()
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
            raise InputFileError(f"{path}: file not found (expected the {source} export here)") from None
        raise InputFileError(f"{path}: cannot be read: {exc}") from None
    if first is None or not first[0].strip():
        raise InputFileError(f"{path}: file is empty (expected a header row: {', '.join(spec.columns)})")
    header_line = first[0].lstrip("\ufeff")
    if "\ufffd" in header_line or "\x00" in header_line:
        raise InputFileError(f"{path}: not a UTF-8 text file")
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
    if not problems:
        problems.append(f"columns out of order: {', '.join(header)}")
    if len(header) == 1 and len(spec.columns) > 1:
        problems.append("is it a comma-separated CSV file?")
    raise InputFileError(
        f"{path}: {'; '.join(problems)} (expected header: {', '.join(spec.columns)})"
    )


def read_raw(spark: SparkSession, input_dir: str, source: str) -> DataFrame:
    """The raw export as text columns, with the explicit schema of ``SOURCES[source]``."""
    spec = SOURCES[source]
    return (
        spark.read.option("header", "true")
        .option("mode", "PERMISSIVE")
        .option("escape", '"')  # RFC 4180: a quote inside a quoted field is doubled
        .option("encoding", "UTF-8")
        .schema(spec.schema)
        .csv(source_path(input_dir, source))
    )


def unreadable_rows(raw: DataFrame) -> DataFrame:
    """Rows whose text holds the Unicode replacement character (bytes that were not UTF-8)."""
    cond = None
    for c in raw.columns:
        hit = F.coalesce(F.col(c).contains("\ufffd"), F.lit(False))
        cond = hit if cond is None else cond | hit
    return raw.where(cond)
