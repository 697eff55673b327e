"""The check engine: contract -> flag columns -> counts observed on the write -> results.

One path serves the write and the tests:

1. :func:`flagged` adds one failure flag per check to the frame (each kind is
   implemented once, in :mod:`novacrm_spark.quality.flags`) and gives one
   count per check, to observe on the write (``DataFrame.observe``): the
   counts cost no query of their own;
2. :func:`results` turns the observed counts into :class:`CheckResult` s, the
   schema check first; only a failing check reads its sample rows (up to
   :data:`SAMPLE_ROWS`), filtering the table by the same flag.

:func:`run_checks` does both with one aggregation instead of a write.

Example::

    >>> frame, metrics = flagged(contract, df, parents.get, params)
    >>> observed = frame.agg(*metrics).first().asDict()      # or observed on the write
    >>> [r.check for r in results(contract, df, observed, parents.get, params) if r.status == "error"]
    []
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from novacrm_spark.quality.flags import (
    CheckContext,
    ParentLookup,
    check_params,
    fresh_name,
    render_sql,
    row_flag,
    with_flag,
)
from novacrm_spark.quality.tables import ROW_KINDS, Check, ContractError, TableContract

__all__ = [
    "SAMPLE_ROWS", "CheckResult", "check_params", "flagged", "name_unrunnable_check", "render_sql", "results",
    "run_checks", "schema_check",
]

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: how many rows fail it, and a few of them."""

    table: str
    check: str
    severity: str  # "error" blocks publishing; "warn" is reported only
    failing_rows: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    kind: str = ""
    detail: str | None = None

    @property
    def status(self) -> str:
        if self.failing_rows == 0:
            return "pass"
        return "error" if self.severity == "error" else "warn"

    def describe(self) -> str:
        """``stg_invoices: check range(amount, 0..) failed on 2 row(s) (detail); sample rows: {k=v, ...}; {...}``."""
        head = f"{self.table}: check {self.check} failed on {self.failing_rows} row(s)"
        if self.detail:
            head += f" ({self.detail})"
        if not self.samples:
            return head
        return head + "; sample rows: " + "; ".join(_sample_text(s) for s in self.samples)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for run_results.json (sample values as text)."""
        return {
            "name": self.check,
            "kind": self.kind,
            "severity": self.severity,
            "status": self.status,
            "failing_rows": self.failing_rows,
            "detail": self.detail,
            "samples": [{k: None if v is None else str(v) for k, v in s.items()} for s in self.samples],
        }


def flagged(
    contract: TableContract, df: DataFrame, parent_of: ParentLookup | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[DataFrame, list[Column]]:
    """``df`` plus one failure flag per check (the schema check aside), and the count of each.

    The counts (``check_<index>``, by the check's position in the contract) are
    meant for ``DataFrame.observe`` on the write: observe them on the flagged
    frame, write ``df``'s own columns, and pass the values to :func:`results`.
    Flag names never clash with ``df``'s columns. A relationships check needs
    ``parent_of``; an expression with placeholders needs ``params``.

    Example::

        >>> frame, metrics = flagged(contract, df, parents.get)
        >>> frame.observe(observation, *metrics).select(*df.columns).write.parquet(path)
    """
    context = CheckContext(contract, parent_of, dict(params or {}))
    frame, metrics = df, []
    for index, check in enumerate(contract.checks):
        flag = fresh_name("_check_flag", set(frame.columns))
        frame = with_flag(frame, check, flag, context)
        metrics.append(F.count_if(F.col(flag)).alias(_metric(index)))
    return frame, metrics


def results(
    contract: TableContract, df: DataFrame, observed: Mapping[str, Any], parent_of: ParentLookup | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[CheckResult]:
    """The schema check, then one result per check from the ``observed`` counts of :func:`flagged`.

    A wrong schema (an error) stops the rest. Sample rows are read from ``df``
    for failing checks only.
    """
    schema = schema_check(contract, df)
    if schema.status == "error":
        return [schema]
    context = CheckContext(contract, parent_of, dict(params or {}))
    return [schema] + [_result(df, index, check, observed, context) for index, check in enumerate(contract.checks)]


def run_checks(
    contract: TableContract, df: DataFrame, parent_of: ParentLookup | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[CheckResult]:
    """Every check of ``contract`` on ``df``: :func:`flagged` counted by one aggregation, then :func:`results`.

    For tests and ``novacrm quality``; a run observes the same counts on its write instead.

    Example::

        >>> [r.status for r in run_checks(contract, df, parents.get)]
        ['pass', 'pass', 'error']
    """
    schema = schema_check(contract, df)
    if schema.status == "error":
        return [schema]
    try:
        frame, metrics = flagged(contract, df, parent_of, params)
        observed = frame.agg(*metrics).first().asDict() if metrics else {}
    except AnalysisException:
        name_unrunnable_check(contract, df, params)  # a check's expression, rather than the frame?
        raise
    return results(contract, df, observed, parent_of, params)


def name_unrunnable_check(contract: TableContract, df: DataFrame, params: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`ContractError` naming the first row-level check that cannot run on ``df``.

    Called after a query with the checks failed analysis; returns (and the
    caller re-raises) when every check analyses on its own, so the fault lies
    elsewhere. Analysis only, no job.
    """
    for check in contract.checks:
        if check.kind not in ROW_KINDS:
            continue
        try:
            df.select(row_flag(check, params)).schema  # analysis only, no job
        except AnalysisException as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise ContractError(f"{contract.qualified_name}: check {check.name} cannot run: {first_line}") from None


def schema_check(contract: TableContract, df: DataFrame) -> CheckResult:
    """Columns and types match the contract: missing or retyped columns fail, extra ones too.

    Computed from the schema alone (no Spark job).
    """
    actual = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    problems = []
    for column in contract.columns:
        if column.name not in actual:
            problems.append(f"missing column {column.name}")
        elif actual[column.name] != column.type:
            problems.append(f"{column.name} is {actual[column.name]}, contract says {column.type}")
    problems.extend(f"undocumented column {name}" for name in actual if name not in contract.column_names)
    return CheckResult(
        table=contract.name,
        check="schema(columns and types match the contract)",
        severity="error",
        failing_rows=len(problems),
        kind="schema",
        detail="; ".join(problems) or None,
    )


# --- results --------------------------------------------------------------------------


def _metric(index: int) -> str:
    return f"check_{index}"


def _result(df: DataFrame, index: int, check: Check, observed: Mapping[str, Any], context: CheckContext) -> CheckResult:
    contract = context.contract
    if _metric(index) not in observed:
        raise ValueError(f"{contract.qualified_name}: no observed count {_metric(index)} for check {check.name}")
    failing = int(observed[_metric(index)] or 0)
    return CheckResult(
        table=contract.name,
        check=check.name,
        severity=check.severity,
        failing_rows=failing,
        samples=_samples(contract, _failing_rows(df, check, context), check) if failing else [],
        kind=check.kind,
        detail=check.description if failing else None,
    )


def _failing_rows(df: DataFrame, check: Check, context: CheckContext) -> DataFrame:
    """The rows of ``df`` that fail ``check``, by the flag the write counted."""
    flag = fresh_name("_failing", set(df.columns))
    return with_flag(df, check, flag, context).where(F.col(flag)).drop(flag)


def _samples(contract: TableContract, rows: DataFrame, check: Check) -> list[dict[str, Any]]:
    """Up to five failing rows, showing the key and the columns the check reads, in key order."""
    wanted = set(contract.key()) | set(check.columns) | _columns_in_sql(check.sql, rows.columns)
    columns = [c for c in rows.columns if c in wanted] or rows.columns
    ordered = rows.select(*columns).orderBy(*[F.col(c).asc_nulls_first() for c in columns])
    return [row.asDict() for row in ordered.limit(SAMPLE_ROWS).collect()]


def _columns_in_sql(sql: str | None, columns: list[str]) -> set[str]:
    if not sql:
        return set()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))
    return {c for c in columns if c in words}


def _sample_text(sample: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sample.items()) + "}"
