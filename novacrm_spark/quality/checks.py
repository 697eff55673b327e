"""Evaluate a table's contract checks on a staged DataFrame: counts and a few sample rows only.

Cost per table, whatever the number of checks:

* one aggregation for every row-level check (not_null, accepted_values,
  range, expression) and every ``relationships`` check: a sum of failure
  flags per check, the relationship flags coming from left joins against the
  parents' distinct keys, broadcast (no job at all if the table has none of
  these checks);
* one narrow grouped count per ``unique`` check, reading the key columns only;
* for failing checks only, up to :data:`SAMPLE_ROWS` sample rows each.

Example::

    >>> results = run_checks(contract, staged_df, parent_of=lambda name: parents[name])
    >>> [r.name for r in results if r.status == "error"]
    []
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from novacrm_spark.quality.contracts import PLACEHOLDER, ROW_KINDS, Check, ContractError, TableContract

SAMPLE_ROWS = 5
ParentLookup = Callable[[str], DataFrame]


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
        """``stg_invoices: check range(amount, 0..) failed on 2 row(s): {...}; {...}``."""
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


def run_checks(
    contract: TableContract,
    df: DataFrame,
    parent_of: ParentLookup | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[CheckResult]:
    """Every check of ``contract`` on ``df``, schema first (a wrong schema stops the rest)."""
    schema = schema_check(contract, df)
    if schema.failing_rows and schema.severity == "error":
        return [schema]
    params = dict(params or {})
    checks = contract.checks
    flagged = [c for c in checks if c.kind in ROW_KINDS or c.kind == "relationships"]
    results = _flagged(contract, df, flagged, parent_of, params)
    for check in checks:
        if check.kind == "unique":
            results[check] = _unique(contract, df, check)
    return [schema] + [results[c] for c in checks]


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


def failure_flag(check: Check, params: Mapping[str, Any] | None = None) -> Column:
    """A boolean column: true on rows that fail a row-level ``check`` (never null)."""
    if check.kind == "expression":
        holds = F.expr(render_sql(check.sql, params or {}))
        # A null result fails unless the check says nulls pass.
        return F.coalesce(~holds, F.lit(not check.null_passes))
    column = F.col(check.columns[0])
    if check.kind == "not_null":
        return column.isNull()
    if check.kind == "accepted_values":
        return F.coalesce(~column.isin(*check.values), F.lit(False))
    if check.kind == "range":
        low = column < F.lit(check.min) if check.min is not None else F.lit(False)
        high = column > F.lit(check.max) if check.max is not None else F.lit(False)
        return F.coalesce(low | high, F.lit(False))
    raise ValueError(f"{check.kind} is not a row-level check")


def failing_rows(
    df: DataFrame,
    check: Check,
    parent_of: ParentLookup | None = None,
    params: Mapping[str, Any] | None = None,
) -> DataFrame:
    """The rows of ``df`` that fail ``check`` (lazy; the runner only counts and samples it)."""
    if check.kind in ROW_KINDS:
        return df.where(failure_flag(check, params))
    if check.kind == "unique":
        present = df.dropna(subset=list(check.columns))
        repeated = present.groupBy(*check.columns).count().where(F.col("count") > 1).drop("count")
        return present.join(repeated, list(check.columns), "left_semi")
    if check.kind == "relationships":
        parent = _parent(check, parent_of).select(F.col(check.field).alias("_parent_key")).distinct()
        child = F.col(check.columns[0])
        return df.where(child.isNotNull()).join(parent, child == parent["_parent_key"], "left_anti")
    raise ValueError(f"unknown check kind {check.kind}")


def render_sql(sql: str, params: Mapping[str, Any]) -> str:
    """Replace ``{as_of_date}`` / ``{as_of_month}`` with SQL date literals."""

    def literal(match: re.Match) -> str:
        name = match.group(1)
        if params.get(name) is None:
            raise ContractError(f"expression {sql!r} needs {name}, which this run does not have")
        value = params[name]
        return f"DATE'{value.isoformat()}'" if isinstance(value, dt.date) else repr(value)

    return PLACEHOLDER.sub(literal, sql)


def check_params(as_of_date: dt.date | None) -> dict[str, Any]:
    """The placeholder values of a run: ``as_of_date`` and its month start."""
    if as_of_date is None:
        return {}
    return {"as_of_date": as_of_date, "as_of_month": as_of_date.replace(day=1)}


# --- evaluation -----------------------------------------------------------------


def _flagged(
    contract: TableContract,
    df: DataFrame,
    checks: list[Check],
    parent_of: ParentLookup | None,
    params: Mapping[str, Any],
) -> dict[Check, CheckResult]:
    """Row-level and relationships checks in one aggregation; samples only for those that fail.

    Each relationships check left-joins ``df`` with its parent's distinct keys
    (so every child row is kept exactly once) and flags the rows whose
    non-null key found no parent.
    """
    if not checks:
        return {}
    # Row-level flags first: a bad expression is reported before anything else runs.
    flags = {
        check: _analysed_flag(contract, df, check, params) for check in checks if check.kind in ROW_KINDS
    }
    joined = df
    taken = set(df.columns)
    for check in checks:
        if check.kind != "relationships":
            continue
        alias = _fresh_name("_parent_key", taken)
        taken.add(alias)
        keys = _parent(check, parent_of).select(F.col(check.field).alias(alias)).distinct()
        child = F.col(check.columns[0])
        # Relationship parents are dimension-like tables keyed by account or date
        # (thousands to about a million keys): broadcasting them avoids shuffling df.
        joined = joined.join(F.broadcast(keys), child == F.col(alias), "left")
        flags[check] = child.isNotNull() & F.col(alias).isNull()
    ordered = [(check, flags[check]) for check in checks]
    counts = joined.agg(
        *[F.sum(flag.cast("long")).alias(f"c{index}") for index, (_, flag) in enumerate(ordered)]
    ).first()
    results = {}
    for index, (check, flag) in enumerate(ordered):
        failing = int(counts[f"c{index}"] or 0)
        samples = []
        if failing:
            rows = df.where(flag) if check.kind in ROW_KINDS else failing_rows(df, check, parent_of)
            samples = _samples(contract, rows, check)
        results[check] = _result(contract, check, failing, samples)
    return results


def _parent(check: Check, parent_of: ParentLookup | None) -> DataFrame:
    """The parent table of a relationships check."""
    if parent_of is None:
        raise ContractError(f"check {check.name} needs the parent table {check.to}")
    return parent_of(check.to)


def _fresh_name(base: str, taken: set[str]) -> str:
    """``base_0``, ``base_1``, ...: the first one not in ``taken``."""
    index = 0
    while f"{base}_{index}" in taken:
        index += 1
    return f"{base}_{index}"


def _analysed_flag(contract: TableContract, df: DataFrame, check: Check, params: Mapping[str, Any]) -> Column:
    """The check's flag, analysed against ``df`` now so a bad expression names its check."""
    try:
        flag = failure_flag(check, params)
        df.select(flag).schema  # analysis only, no job
    except AnalysisException as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ContractError(f"{contract.qualified_name}: check {check.name} cannot run: {first_line}") from None
    return flag


def _unique(contract: TableContract, df: DataFrame, check: Check) -> CheckResult:
    """How many rows share a non-null key with another row: one narrow grouped count."""
    key = list(check.columns)
    rows = _fresh_name("_rows", set(key))
    failing = (
        df.select(*key)
        .dropna()
        .groupBy(*key)
        .agg(F.count(F.lit(1)).alias(rows))
        .where(F.col(rows) > 1)
        .agg(F.sum(rows))
        .first()[0]
    )
    failing = int(failing or 0)
    samples = _samples(contract, failing_rows(df, check), check) if failing else []
    return _result(contract, check, failing, samples)


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


def _result(contract: TableContract, check: Check, failing: int, samples: list[dict[str, Any]]) -> CheckResult:
    return CheckResult(
        table=contract.name,
        check=check.name,
        severity=check.severity,
        failing_rows=failing,
        samples=samples,
        kind=check.kind,
        detail=check.description if failing else None,
    )


def _sample_text(sample: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sample.items()) + "}"
