"""Each check kind once: a boolean failure flag, true on the rows of a frame that fail the check.

A row-level kind (``not_null``, ``accepted_values``, ``range``, ``expression``)
is a Column over the row alone. A set kind adds its flag column to the frame:

* ``unique``: a row fails when its key is set and occurs more than once,
  counted by a window over the key; a staging model's own
  :data:`~novacrm_spark.bookkeeping.ROWS_PER_KEY` column replaces that window
  for the contract's key when the frame has it;
* ``relationships``: a left join with the parent's distinct keys, broadcast;
  a row fails when its set key finds no parent. Every row is kept once.

The write counts these flags (:func:`novacrm_spark.quality.checks.flagged`)
and the sample rows of a failing check are read with the same flag.

Example::

    >>> with_flag(df, check, "_flag_0", CheckContext(contract)).where("_flag_0").count()
    2
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from novacrm_spark.bookkeeping import ROWS_PER_KEY
from novacrm_spark.quality.tables import PLACEHOLDER, ROW_KINDS, Check, ContractError, TableContract

ParentLookup = Callable[[str], DataFrame]


@dataclass(frozen=True)
class CheckContext:
    """What a check may read besides the frame: its table's contract, parent tables and run values."""

    contract: TableContract
    parent_of: ParentLookup | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def parent(self, check: Check) -> DataFrame:
        """The parent table of a relationships check."""
        if self.parent_of is None:
            raise ContractError(f"check {check.name} needs the parent table {check.to}")
        return self.parent_of(check.to)


def with_flag(frame: DataFrame, check: Check, name: str, context: CheckContext) -> DataFrame:
    """``frame`` plus the boolean column ``name``: true on the rows that fail ``check``.

    ``name`` must not be one of ``frame``'s columns (see :func:`fresh_name`).
    """
    if check.kind in ROW_KINDS:
        return frame.withColumn(name, row_flag(check, context.params))
    return _SET_FLAGS[check.kind](frame, check, name, context)


def row_flag(check: Check, params: Mapping[str, Any] | None = None) -> Column:
    """The failure flag of a row-level ``check`` (never null)."""
    return _ROW_FLAGS[check.kind](check, params or {})


def fresh_name(base: str, taken: set[str]) -> str:
    """``base_0``, ``base_1``, ...: the first one not in ``taken``."""
    index = 0
    while f"{base}_{index}" in taken:
        index += 1
    return f"{base}_{index}"


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


# --- row-level kinds ----------------------------------------------------------------


def _not_null(check: Check, params: Mapping[str, Any]) -> Column:
    return F.col(check.columns[0]).isNull()


def _accepted_values(check: Check, params: Mapping[str, Any]) -> Column:
    column = F.col(check.columns[0])
    accepted = column.isin(*check.values)
    for pattern in check.patterns:
        accepted = accepted | column.rlike(f"^(?:{pattern})$")
    return F.coalesce(~accepted, F.lit(False))  # a null value passes


def _range(check: Check, params: Mapping[str, Any]) -> Column:
    column = F.col(check.columns[0])
    low = column < F.lit(check.min) if check.min is not None else F.lit(False)
    high = column > F.lit(check.max) if check.max is not None else F.lit(False)
    return F.coalesce(low | high, F.lit(False))  # bounds inclusive, a null value passes


def _expression(check: Check, params: Mapping[str, Any]) -> Column:
    holds = F.expr(render_sql(check.sql, params))
    # A null result fails unless the check says nulls pass.
    return F.coalesce(~holds, F.lit(not check.null_passes))


_ROW_FLAGS: dict[str, Callable[[Check, Mapping[str, Any]], Column]] = {
    "not_null": _not_null,
    "accepted_values": _accepted_values,
    "range": _range,
    "expression": _expression,
}


# --- set kinds --------------------------------------------------------------------------


def _unique(frame: DataFrame, check: Check, name: str, context: CheckContext) -> DataFrame:
    if ROWS_PER_KEY in frame.columns and check.columns == context.contract.key():
        rows = F.col(ROWS_PER_KEY)  # counted by the staging model's dedupe window: no second shuffle
    else:
        rows = F.count(F.lit(1)).over(Window.partitionBy(*check.columns))
    present = F.lit(True)
    for column in check.columns:
        present = present & F.col(column).isNotNull()  # a null key never counts as a repeat
    return frame.withColumn(name, present & (rows > 1))


def _relationships(frame: DataFrame, check: Check, name: str, context: CheckContext) -> DataFrame:
    alias = fresh_name("_parent_key", set(frame.columns) | {name})
    keys = context.parent(check).select(F.col(check.field).alias(alias)).distinct()
    child = F.col(check.columns[0])
    # Relationship parents are dimension-like tables keyed by account or date
    # (thousands to about a million keys): broadcasting them avoids shuffling the frame.
    joined = frame.join(F.broadcast(keys), child == F.col(alias), "left")
    return joined.withColumn(name, child.isNotNull() & F.col(alias).isNull()).drop(alias)


_SET_FLAGS: dict[str, Callable[[DataFrame, Check, str, CheckContext], DataFrame]] = {
    "unique": _unique,
    "relationships": _relationships,
}
