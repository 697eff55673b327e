"""Write-audit: stage one table, observe its contract's checks on the write, decide pass, warn or fail.

A table is written unpublished (:meth:`TableStore.stage`); the checks' failure
counts are aggregates observed on that write, so auditing costs no query of
its own (only failing checks read a few sample rows back). A staging source's
quarantine adds one more check: too large a share of rejected rows means a
broken export, not a few bad rows.

Example::

    >>> built = stage_audited(store, df, contract, parent_of, params)
    >>> [c.check for c in built.checks if c.status == "error"]
    []
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from novacrm_spark import incremental as inc
from novacrm_spark.bookkeeping import BOOKKEEPING, COLLAPSED
from novacrm_spark.quality.checks import CheckResult
from novacrm_spark.quality.checks import flagged, name_unrunnable_check, results
from novacrm_spark.quality.constraints import table_constraints
from novacrm_spark.quality.contracts import TableContract
from novacrm_spark.run.results import ModelResult
from novacrm_spark.store import StagedWrite, TableStore
from novacrm_spark.store.manifest import Table

ParentLookup = Callable[[str], DataFrame]
REASON_METRIC = "reason: "


@dataclass
class Built:
    """A graph node's outcome: the model's result and its staged writes (its own table first)."""

    result: ModelResult | None  # None for the as-of node
    writes: list[tuple[Table, StagedWrite]] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.result is not None and self.result.failed

    def abort(self) -> None:
        for _table, write in self.writes:
            write.abort()


def stage_audited(
    store: TableStore,
    df: DataFrame,
    contract: TableContract,
    parent_of: ParentLookup,
    params: Mapping[str, Any],
    months: list[dt.date] | None = None,
    on_missing_metrics: Callable[[], None] = lambda: None,
) -> Built:
    """Write ``df`` unpublished as the contract's table and audit it; the caller publishes or aborts.

    Usage tables get their ``event_month`` partition column; with ``months`` only
    those partitions are replaced (and only the rows written are audited).
    Bookkeeping columns of a staging frame are counted, never written.
    """
    write = _stage(store, df, contract, parent_of, params, months, on_missing_metrics)
    try:
        audited = write.dataframe if months is None else write.written
        checks = results(contract, audited, write.metrics, parent_of, params)
    except BaseException:
        write.abort()
        raise
    return Built(None, [((contract.layer, contract.name), write)], checks)


def _stage(
    store: TableStore, df: DataFrame, contract: TableContract, parent_of: ParentLookup, params: Mapping[str, Any],
    months: list[dt.date] | None, on_missing_metrics: Callable[[], None],
) -> StagedWrite:
    options: dict[str, Any] = {}
    if contract.layer != "quarantine" and contract.name in inc.PARTITIONED_TABLES:
        df = inc.with_event_month(df, inc.PARTITIONED_TABLES[contract.name])
        options["partition_by"] = [inc.PARTITION_COLUMN]
        if months is not None:
            options["replace_partitions"] = months
    columns = [c for c in df.columns if c not in BOOKKEEPING]
    comments = {k: v for k, v in contract.column_comments().items() if k in columns}
    try:
        frame, metrics = flagged(contract, df, parent_of, params)
        metrics = [*metrics, *_bookkeeping_metrics(contract, df)]
        # The store observes the checks on its write: flag columns are seen, but not written.
        write = store.stage(frame, contract.layer, contract.name, description=contract.description,
                            column_comments=comments, observe=metrics, columns=columns,
                            constraints=table_constraints(contract), **options)
    except AnalysisException:
        name_unrunnable_check(contract, df, params)  # a check's expression, rather than the model?
        raise
    if write.metrics_counted:
        on_missing_metrics()
    return write


def _bookkeeping_metrics(contract: TableContract, df: DataFrame) -> list[Column]:
    """The collapsed copies staging counted, and a quarantine table's count per declared reason."""
    metrics = [F.sum(COLLAPSED).alias(COLLAPSED)] if COLLAPSED in df.columns else []
    if contract.layer == "quarantine":
        declared = [c for c in contract.checks if c.kind == "accepted_values" and c.columns == ("reason",)]
        reasons = declared[0].values if declared else ()
        metrics += [F.count_if(F.col("reason") == r).alias(f"{REASON_METRIC}{r}") for r in reasons]
    return metrics


@contextmanager
def held(frame: DataFrame) -> Iterator[DataFrame]:
    """``frame`` persisted while the block writes what is filtered from it, then released.

    A staging model's accepted and quarantined rows come from one validated
    frame: held, the raw file is parsed and validated once for both writes.
    """
    frame.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        yield frame
    finally:
        frame.unpersist()


def collapsed_copies(*writes: StagedWrite) -> int:
    return sum(int(w.metrics.get(COLLAPSED) or 0) for w in writes)


def reasons_of(quarantine: StagedWrite) -> dict[str, int]:
    """Quarantined rows per reason, most first: the counts the write observed, or, when they do
    not add up (an undeclared reason), one small aggregate over the staged rows."""
    observed = _observed_reasons(quarantine.metrics)
    if observed is not None and sum(observed.values()) == quarantine.num_rows:
        return {r: n for r, n in sorted(observed.items(), key=lambda kv: (-kv[1], kv[0])) if n}
    return count_by_reason(quarantine.dataframe) if quarantine.num_rows else {}


def count_by_reason(quarantined: DataFrame) -> dict[str, int]:
    """Rows per reason, most first (one aggregate: a handful of rows reach the driver)."""
    counts = quarantined.groupBy("reason").count().orderBy(F.desc("count"), "reason").collect()
    return {row["reason"]: int(row["count"]) for row in counts}


def quarantine_summary(accepted: int, by_reason: Mapping[str, int], collapsed: int = 0) -> dict[str, Any]:
    """Where a source's rows went: ``source_rows`` (data rows read) = ``staged_rows`` +
    ``rows`` (quarantined) + ``collapsed_rows`` (identical copies); the quarantined share
    of the rows read, and the count per reason.

    Example: ``quarantine_summary(95, {"missing id": 4}, 1)["fraction"]`` -> ``0.04``.
    """
    rows = sum(by_reason.values())
    total = accepted + rows + collapsed
    return {
        "rows": rows,
        "source_rows": total,
        "staged_rows": accepted,
        "collapsed_rows": collapsed,
        "fraction": round(rows / total, 6) if total else 0.0,
        "by_reason": dict(by_reason),
    }


def quarantine_check(source: str, quarantine: Mapping[str, Any], limit: float) -> CheckResult:
    """Too many rejected rows means a broken export, not a few bad rows: block the run."""
    too_many = quarantine["fraction"] > limit
    reasons = ", ".join(f"{reason}: {n}" for reason, n in quarantine["by_reason"].items())
    return CheckResult(
        table=f"quarantine.{source}",
        check=f"quarantine_fraction <= {limit:.0%}",
        severity="error",
        failing_rows=quarantine["rows"] if too_many else 0,
        kind="quarantine_threshold",
        detail=(
            f"{quarantine['rows']} of {quarantine['source_rows']} rows of raw_{source}.csv "
            f"quarantined ({quarantine['fraction']:.1%} > {limit:.0%}); reasons: {reasons}"
            if too_many
            else None
        ),
    )


def _observed_reasons(metrics: Mapping[str, Any]) -> dict[str, int] | None:
    counts = {k[len(REASON_METRIC):]: int(v or 0) for k, v in metrics.items() if k.startswith(REASON_METRIC)}
    return counts or None
