"""The spec's quarantine rules, applied the same way to every raw source.

A staging model describes its source declaratively (:class:`SourceRules`);
:func:`validate` cleans the text, types it, and gives each row the first
reason that rejects it (or null):

0. a record with more or fewer fields than the header (its text is kept in
   ``raw_record``, its columns are null: never padded or cut into a row);
1. a null key or required value;
2. a source-specific consistency rule (tickets: status vs. resolution);
3. a key that repeats with differing values (identical copies collapse first);
4. a non-empty value that does not parse;
5. a code outside its domain, or a number outside its range;
6. an account_id missing from the accepted accounts.

:func:`split` turns the validated rows into the accepted table and the
quarantine table (the cleaned source text, ``raw_record`` and ``reason``).
Every source row is accounted for: each key's first row carries how many
identical copies collapsed into its key (:data:`COLLAPSED`), so
rows in the file = accepted + quarantined + the sum of :data:`COLLAPSED`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from novacrm_spark.columns import clean_code, clean_currency, clean_text
from novacrm_spark.bookkeeping import COLLAPSED, ROWS_PER_KEY
from novacrm_spark.model import StagingResult
from novacrm_spark.sources import RAW_RECORD, RawSource

REASON = "reason"
TYPED_PREFIX = "_typed_"
# A quoted field, doubled quotes inside, written so that Java's regex engine loops instead of
# recursing (a long field cannot overflow its stack): what is left holds only separating commas.
_QUOTED_FIELD = r'"[^"]*(?:""[^"]*)*"'


def typed(column: str) -> Column:
    """The parsed value of a source column inside a validated DataFrame."""
    return F.col(f"{TYPED_PREFIX}{column}")


@dataclass(frozen=True)
class SourceRules:
    """How one raw source is cleaned, typed and validated."""

    source: RawSource
    required: tuple[str, ...]
    codes: tuple[str, ...] = ()
    upper_codes: tuple[str, ...] = ()
    parsers: Mapping[str, Callable[[Column], Column]] = field(default_factory=dict)
    domains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # column -> (minimum, maximum); None leaves that end open.
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    # Source-specific consistency rules, checked right after the required values.
    consistency: Callable[[], list[tuple[Column, str]]] = lambda: []
    references_accounts: bool = True
    # Source columns the accepted rows do not carry (a raw JSON payload); with the raw
    # text of the parsed columns, only the quarantine table keeps them (see split()).
    payloads: tuple[str, ...] = ()

    @property
    def quarantine_only(self) -> tuple[str, ...]:
        """Source text only the quarantine table keeps: parsed columns' raw text, and the payloads."""
        return (*self.parsers, *self.payloads)


def field_count(record: Column) -> Column:
    """The number of fields in a CSV record's text (RFC 4180 quoting).

    Example: ``ACC-1,"Acme, Inc",x`` -> 3; ``ACC-1,"say ""hi"", then go"`` -> 2; ``ACC-1`` -> 1.
    """
    return F.size(F.split(F.regexp_replace(record, _QUOTED_FIELD, ""), ",", -1))


def clean(raw: DataFrame, rules: SourceRules) -> DataFrame:
    """Trim every string (empty -> null); ``lower`` codes, ``upper`` currencies; plus ``raw_record``.

    A record of the wrong width (``raw_record`` set by :func:`~novacrm_spark.sources.read_raw`)
    gets null columns: the reader padded or cut them, so they mean nothing.
    """

    def cleaner(name: str) -> Column:
        if name in rules.codes:
            return clean_code(name)
        if name in rules.upper_codes:
            return clean_currency(name)
        return clean_text(name)

    record = F.col(RAW_RECORD) if RAW_RECORD in raw.columns else F.lit(None).cast("string")
    well_formed = record.isNull()
    return raw.select(
        *[F.when(well_formed, cleaner(c)).alias(c) for c in rules.source.columns], record.alias(RAW_RECORD)
    )


def validate(raw: DataFrame, rules: SourceRules, accounts: DataFrame | None = None) -> DataFrame:
    """Cleaned text columns, ``raw_record``, ``_typed_<column>`` parsed values, ``reason`` (null =
    accepted) and :data:`COLLAPSED`."""
    key = rules.source.key
    rows = _one_row_per_version(clean(raw, rules), key)
    rows = rows.select("*", *[parse(F.col(c)).alias(f"{TYPED_PREFIX}{c}") for c, parse in rules.parsers.items()])
    if rules.references_accounts:
        known = accounts.select(F.col("account_id").alias("_known_account"))
        rows = rows.join(known, rows["account_id"] == known["_known_account"], "left")

    expected = len(rules.source.columns)
    wrong_width = F.format_string(
        f"wrong number of fields (%d, expected {expected})", field_count(F.col(RAW_RECORD))
    )
    reasons: list[tuple[Column, str | Column]] = [(F.col(RAW_RECORD).isNotNull(), wrong_width)]
    for c in (key, *rules.required):
        reasons.append((F.col(c).isNull(), f"missing {c}"))
    reasons.extend(rules.consistency())
    reasons.append((F.col("_versions") > 1, f"conflicting duplicate {key}"))
    for c in rules.parsers:
        reasons.append((F.col(c).isNotNull() & typed(c).isNull(), f"unparseable {c}"))
    for c, values in rules.domains.items():
        reasons.append((F.col(c).isNotNull() & ~F.col(c).isin(*values), f"{c} outside its domain"))
    for c, (low, high) in rules.ranges.items():
        value = typed(c) if c in rules.parsers else F.col(c)
        if low is not None:
            reasons.append((value < low, f"{c} below {low}"))
        if high is not None:
            reasons.append((value > high, f"{c} above {high}"))
    if rules.references_accounts:
        reasons.append((F.col("_known_account").isNull(), "unknown account_id"))

    reason = F.coalesce(*[F.when(cond, text if isinstance(text, Column) else F.lit(text)) for cond, text in reasons])
    return rows.withColumn(REASON, reason).drop("_versions", "_known_account")


def _one_row_per_version(rows: DataFrame, key: str) -> DataFrame:
    """Identical rows (after cleaning, before typing) collapse into one; ``_versions`` counts
    the differing rows left per non-null key, and :data:`COLLAPSED` how many copies went.

    One shuffle by the key and one sort: within a key, rows sorted by every column tie
    exactly when they are identical, so ``rank == row_number`` keeps the first of each
    tie, and the largest ``dense_rank`` is the number of versions (cheaper than a hash
    ``distinct()`` over every column followed by a key window). The key's rows less its
    versions are the copies collapsed; the key's first row carries that number, so a
    sum over the kept rows counts each copy once.

    Example: ``E1,a`` twice and ``E1,b`` -> ``E1,a`` (1 collapsed) and ``E1,b`` (0), both
    with ``_versions`` 2.
    """
    by_key = Window.partitionBy(key)
    by_version = by_key.orderBy(*[c for c in rows.columns if c != key])
    ranked = rows.select(
        "*",
        F.rank().over(by_version).alias("_tie"),
        F.row_number().over(by_version).alias("_copy"),
        F.dense_rank().over(by_version).alias("_version"),
        F.count(F.lit(1)).over(by_key).alias("_rows_in_key"),  # sorted by key already: no second sort
    )
    firsts = ranked.where(F.col("_tie") == F.col("_copy"))
    versions = F.max("_version").over(by_key)  # same partitioning and order: no second sort
    collapsed = F.when(F.col("_copy") == 1, F.col("_rows_in_key") - versions).otherwise(F.lit(0))
    return firsts.select(
        *rows.columns,
        F.when(F.col(key).isNotNull(), versions).alias("_versions"),
        collapsed.cast("long").alias(COLLAPSED),
    )


def split(
    validated: DataFrame,
    rules: SourceRules,
    accepted_columns: list[Column],
    loaded_at: dt.datetime,
) -> StagingResult:
    """The accepted rows as ``accepted_columns`` + ``_loaded_at``, and the quarantined source rows.

    ``accepted_columns`` read the typed values (``typed(c)``), never the raw text of
    :attr:`SourceRules.quarantine_only` columns: that text is blanked on accepted rows
    first, because the runner holds ``validated`` while it writes both tables, and
    would otherwise hold it for every row (usage events: the JSON ``properties``).
    The accepted rows also carry :data:`ROWS_PER_KEY` (how many accepted rows share
    the row's key, for the writer's unique check) and both carry :data:`COLLAPSED`.

    Example: ``ACC-1`` twice (identical) and ``ACC-2`` unparseable -> accepted
    ``ACC-1`` (rows per key 1, collapsed 1), quarantined ``ACC-2`` (collapsed 0).
    """
    # validate() left the rows grouped and sorted by key: this count needs no shuffle or sort.
    rows_per_key = F.count_if(F.col(REASON).isNull()).over(Window.partitionBy(rules.source.key))
    validated = _blank_on_accepted(validated, rules.quarantine_only).withColumn(ROWS_PER_KEY, rows_per_key)
    stamp = F.lit(loaded_at).cast("timestamp").alias("_loaded_at")
    accepted_here = F.col(REASON).isNull()
    accepted = validated.where(accepted_here).select(*accepted_columns, stamp, ROWS_PER_KEY, COLLAPSED)
    quarantined = validated.where(~accepted_here).select(*rules.source.columns, RAW_RECORD, REASON, stamp, COLLAPSED)
    return StagingResult(accepted=accepted, quarantined=quarantined, validated=validated)


def _blank_on_accepted(validated: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    """``columns`` set to null on accepted rows (``reason`` null); quarantined rows keep their text."""
    rejected = F.col(REASON).isNotNull()
    return validated.select(*[F.when(rejected, F.col(c)).alias(c) if c in columns else c for c in validated.columns])
