"""A contract's blocking row checks as Delta table constraints, so other writers are held to them too.

Our own runs never need them: a failing ``error`` check stops the run before
anything is published. A constraint stops a writer outside this package (a
notebook's append, a delta-rs script) from breaking the same rule. Only the
checks that both Delta engines evaluate alike become constraints:

* ``not_null`` -> ``col IS NOT NULL``. As a CHECK constraint, not a NOT NULL
  column: delta-spark's CREATE OR REPLACE ... AS SELECT makes every column
  nullable, so a NOT NULL column would take a second commit;
* ``range`` -> ``col IS NULL OR col >= min AND col <= max`` (a null value
  passes, as in the check; delta-rs fails a constraint whose result is null);
* ``accepted_values`` with plain values -> ``col IS NULL OR col IN (...)``.

``warn`` checks are not constraints (their failing rows are published);
``expression`` checks and value patterns are not either: they are Spark SQL
(``trunc``, ``date_format``, ``forall``, ``rlike``), and delta-rs evaluates
constraints with DataFusion, which lacks those functions.

Example::

    >>> table_constraints(contract)
    {'account_id_not_null': 'account_id IS NOT NULL', 'mrr_range': 'mrr IS NULL OR mrr >= 0'}
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from novacrm_spark.quality.tables import Check, TableContract

PROPERTY_PREFIX = "delta.constraints."  # where Delta keeps a table's CHECK constraints, by name
SIMPLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")  # needs no quoting in Spark SQL or DataFusion


def table_constraints(contract: TableContract) -> dict[str, str]:
    """The contract's blocking row checks that both engines honour: constraint name -> SQL expression."""
    constraints: dict[str, str] = {}
    for check in contract.checks:
        sql = _constraint_sql(check) if check.severity == "error" else None
        if sql is not None:
            constraints[f"{check.columns[0]}_{check.kind}"] = sql
    return constraints


def as_properties(constraints: Mapping[str, str]) -> dict[str, str]:
    """The table properties that declare ``constraints`` (Delta's ``delta.constraints.<name>``)."""
    return {f"{PROPERTY_PREFIX}{name}": sql for name, sql in constraints.items()}


def comparable(configuration: Mapping[str, str | None]) -> dict[str, str | None]:
    """A table's configuration with each constraint's expression left out, its name kept: an engine may store
    an expression rewritten (delta-rs keeps ``mrr >= 0`` as ``mrr >= '0'::decimal(18, 2)``)."""
    return {k: None if k.startswith(PROPERTY_PREFIX) else v for k, v in configuration.items()}


def _constraint_sql(check: Check) -> str | None:
    if len(check.columns) != 1 or not SIMPLE_NAME.fullmatch(check.columns[0]):
        return None
    column = check.columns[0]
    if check.kind == "not_null":
        return f"{column} IS NOT NULL"
    if check.kind == "range":
        bounds = [f"{column} {op} {_number(v)}" for op, v in ((">=", check.min), ("<=", check.max)) if v is not None]
        return f"{column} IS NULL OR {' AND '.join(bounds)}" if bounds else None
    if check.kind == "accepted_values" and check.values and not check.patterns:
        return f"{column} IS NULL OR {column} IN ({', '.join(_literal(v) for v in check.values)})"
    return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    return "'" + str(value).replace("'", "''") + "'"
