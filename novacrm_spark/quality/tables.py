"""What a contract declares, as values: a table's columns and checks (parsed by :mod:`.parsing`).

Example::

    >>> check = Check(kind="range", columns=("mrr",), min=0)
    >>> check.name
    'range(mrr, 0..)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from novacrm_spark.errors import NovaCrmError

CHECK_KINDS = ("not_null", "unique", "accepted_values", "relationships", "range", "expression")
ROW_KINDS = ("not_null", "accepted_values", "range", "expression")  # a row passes or fails on its own
SEVERITIES = ("error", "warn")
DATE_TYPES = ("date", "timestamp")  # a freshness column's types
PLACEHOLDER = re.compile(r"\{(\w+)\}")
PLACEHOLDERS = ("as_of_date", "as_of_month")


class ContractError(NovaCrmError):
    """A contract file is malformed, or contracts and models disagree."""


@dataclass(frozen=True)
class Check:
    """One declared check of one table."""

    kind: str
    columns: tuple[str, ...] = ()
    severity: str = "error"
    values: tuple[Any, ...] = ()
    patterns: tuple[str, ...] = ()  # accepted_values: regexes a whole value may match instead
    to: str | None = None
    field: str | None = None
    min: float | None = None
    max: float | None = None
    sql: str | None = None
    label: str | None = None
    null_passes: bool = False
    description: str | None = None

    @property
    def name(self) -> str:
        """A short stable name: ``not_null(account_id)``, ``range(mrr, 0..)``, ``expression(ledger_invariant)``."""
        cols = ", ".join(self.columns)
        if self.kind == "relationships":
            return f"relationships({cols} -> {self.to}.{self.field})"
        if self.kind == "range":
            low = "" if self.min is None else _number(self.min)
            high = "" if self.max is None else _number(self.max)
            return f"range({cols}, {low}..{high})"
        if self.kind == "expression":
            return f"expression({self.label})"
        return f"{self.kind}({cols})"

    @property
    def placeholders(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.sql or ""))


@dataclass(frozen=True)
class Freshness:
    """A staging source's freshness limit (as dbt's source freshness): its newest ``column`` value may be at
    most ``max_staleness_days`` before the run's as-of date; older warns or fails the run by ``severity``."""

    column: str
    max_staleness_days: int
    severity: str = "error"
    description: str = ""


@dataclass(frozen=True)
class ColumnContract:
    name: str
    type: str  # Spark's simple string: ``decimal(18,2)``, ``array<string>``
    description: str


@dataclass(frozen=True)
class TableContract:
    """Everything declared about one table: ``layer.name``."""

    layer: str
    name: str
    description: str
    columns: tuple[ColumnContract, ...]
    checks: tuple[Check, ...]
    source_file: str
    freshness: Freshness | None = None  # staging models only: the freshness limit of their source

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column_comments(self) -> dict[str, str]:
        return {c.name: c.description for c in self.columns}

    def key(self) -> tuple[str, ...]:
        """The table's key: the columns of its first ``unique`` check (``()`` without one)."""
        return next((c.columns for c in self.checks if c.kind == "unique"), ())

    def ddl(self, leave_out: tuple[str, ...] = ()) -> str:
        """The columns as a Spark DDL schema, for ``spark.createDataFrame(rows, ddl)`` or ``StructType.fromDDL``.

        Example: ``"`account_id` string, `mrr` decimal(18,2)"``.
        """
        return ", ".join(f"`{c.name}` {c.type}" for c in self.columns if c.name not in leave_out)


@dataclass(frozen=True)
class Contracts:
    """All contracts, by ``(layer, table)``; a staging model's rejected rows are ``("quarantine", source)``."""

    tables: Mapping[tuple[str, str], TableContract]

    def get(self, layer: str, table: str) -> TableContract | None:
        return self.tables.get((layer, table))

    def for_model(self, name: str) -> TableContract:
        for (layer, table), contract in self.tables.items():
            if table == name and layer != "quarantine":
                return contract
        raise ContractError(f"model {name!r} has no contract; add {name}.yml beside {name}.py")

    def for_quarantine(self, source: str) -> TableContract:
        contract = self.get("quarantine", source)
        if contract is None:
            raise ContractError(
                f"quarantine table {source!r} has no contract; add it under quarantine: in stg_{source}.yml"
            )
        return contract

    @property
    def total_checks(self) -> int:
        return sum(len(c.checks) for c in self.tables.values())


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
