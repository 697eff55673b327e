"""Checks on a staged table: counts and a few sample rows only, never the table itself.

Example::

    >>> results = run_checks(REGISTRY["stg_accounts"], staged_df, parent_of=store_lookup)
    >>> [r.check for r in results if r.status == "error"]
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.registry import Model

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckResult:
    table: str
    check: str
    severity: str  # "error" blocks publishing; "warn" is reported only
    failing_rows: int
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.failing_rows == 0:
            return "pass"
        return "error" if self.severity == "error" else "warn"

    def describe(self) -> str:
        head = f"{self.table}: check {self.check} failed on {self.failing_rows} row(s)"
        if not self.samples:
            return head
        return head + "; e.g. " + "; ".join(str(s) for s in self.samples)


def run_checks(
    model: Model, df: DataFrame, parent_of: Callable[[str], DataFrame] | None = None
) -> list[CheckResult]:
    """The key checks every model gets: key columns not null and unique."""
    return key_checks(model.name, df, model.key)


def key_checks(table: str, df: DataFrame, key: tuple[str, ...]) -> list[CheckResult]:
    """``not_null`` for each key column and ``unique`` for the key, in two small queries."""
    null_counts = df.select(
        *[F.sum(F.col(c).isNull().cast("long")).alias(c) for c in key]
    ).first()
    results = [
        CheckResult(table, f"not_null({c})", "error", int(null_counts[c] or 0), _samples(df, F.col(c).isNull()))
        for c in key
    ]
    duplicates = df.groupBy(*key).count().where(F.col("count") > 1)
    duplicate_count = duplicates.agg(F.coalesce(F.sum("count"), F.lit(0))).first()[0]
    results.append(
        CheckResult(
            table,
            f"unique({', '.join(key)})",
            "error",
            int(duplicate_count),
            [r.asDict() for r in duplicates.orderBy(*key).limit(SAMPLE_ROWS).collect()] if duplicate_count else [],
        )
    )
    return results


def _samples(df: DataFrame, condition) -> list[dict[str, Any]]:
    return [r.asDict() for r in df.where(condition).limit(SAMPLE_ROWS).collect()]
