"""What both engines write into a run's table metadata: the retention properties, the contract's
constraints, and the protocol those need (reader 1; writer 3 with constraints, else 2; no table features)."""

from __future__ import annotations

from pathlib import Path

from deltalake import DeltaTable

from novacrm_spark.quality.constraints import as_properties, comparable, table_constraints
from novacrm_spark.quality.contracts import default_contracts
from novacrm_spark.retention import DEFAULT_PROPERTIES


def run_tables(warehouse: Path) -> list[Path]:
    return sorted(p.parent for p in warehouse.glob("*/*/_delta_log"))


def assert_run_table_metadata(path: Path) -> None:
    """``path``'s configuration and protocol are what a run writes for it (a bookkeeping table has no contract)."""
    contract = default_contracts().get(path.parent.name, path.name)
    constraints = as_properties(table_constraints(contract)) if contract is not None else {}
    table = DeltaTable(str(path))
    # Expressions aside: delta-rs stores them rewritten (see quality/constraints.py).
    assert comparable(table.metadata().configuration) == comparable({**DEFAULT_PROPERTIES, **constraints}), path
    assert_protocol(table, 3 if constraints else 2, path)


def assert_protocol(table: DeltaTable, writer: int, name: object = "") -> None:
    """Reader 1, writer ``writer`` (3: CHECK constraints), no table features: what both engines write."""
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, writer), name
    assert not protocol.reader_features and not protocol.writer_features, name
