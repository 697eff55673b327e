"""A contract's blocking row checks become Delta CHECK constraints that other writers must meet."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from novacrm_spark.quality.constraints import PROPERTY_PREFIX, table_constraints
from novacrm_spark.quality.tables import Check, TableContract
from novacrm_spark.store import open_store


def contract(*checks: Check) -> TableContract:
    return TableContract("core", "t", "A table.", (), checks, "t.yml")


def test_only_blocking_checks_both_engines_evaluate_become_constraints():
    constraints = table_constraints(contract(
        Check("not_null", ("account_id",)),
        Check("not_null", ("region",), severity="warn"),  # published when it fails: no constraint
        Check("unique", ("account_id",)),
        Check("range", ("mrr",), min=0),
        Check("range", ("score",), min=0, max=100),
        Check("range", ("ratio",), min=0.5),
        Check("accepted_values", ("tier",), values=("starter", "o'brien")),
        Check("accepted_values", ("code",), values=("a",), patterns=("[A-Z]{3}",)),  # a regex: Spark SQL only
        Check("accepted_values", ("hours",), values=(4, 12)),
        Check("expression", (), sql="mrr = 12 * arr", label="ledger"),  # Spark SQL, not DataFusion's
        Check("not_null", ("Bad Name",)),  # would need quoting
    ))
    assert constraints == {
        "account_id_not_null": "account_id IS NOT NULL",
        "mrr_range": "mrr IS NULL OR mrr >= 0",
        "score_range": "score IS NULL OR score >= 0 AND score <= 100",
        "ratio_range": "ratio IS NULL OR ratio >= 0.5",
        "tier_accepted_values": "tier IS NULL OR tier IN ('starter', 'o''brien')",
        "hours_accepted_values": "hours IS NULL OR hours IN (4, 12)",
    }


SCHEMA = pa.schema([("account_id", pa.string()), ("mrr", pa.decimal128(18, 2))])
CONSTRAINTS = {"account_id_not_null": "account_id IS NOT NULL", "mrr_range": "mrr IS NULL OR mrr >= 0"}


def declared(path: str) -> set[str]:
    return {k.removeprefix(PROPERTY_PREFIX) for k in DeltaTable(path).metadata().configuration
            if k.startswith(PROPERTY_PREFIX)}


def refused(path: str, rows: dict) -> bool:
    try:
        write_deltalake(path, pa.table(rows, schema=SCHEMA), mode="append")
    except Exception as exc:  # delta-rs: "Invalid data found: 1 rows failed validation check"
        assert "validation" in str(exc)
        return True
    return False


@pytest.fixture
def written(spark, tmp_path):
    """A table the embedded engine wrote with CONSTRAINTS, and its store."""
    store = open_store(spark, str(tmp_path / "wh"), engine="embedded")
    df = spark.createDataFrame([("ACC-1", Decimal("10.00"))], "account_id string, mrr decimal(18,2)")
    store.stage(df, "core", "t", constraints=CONSTRAINTS).commit()
    return store, df


def test_the_embedded_engine_declares_the_constraints_and_other_writers_are_held_to_them(written):
    store, _ = written
    path = store.table_path("core", "t")
    assert declared(path) == set(CONSTRAINTS)
    assert DeltaTable(path).protocol().min_writer_version >= 3  # checkConstraints: every writer must check
    assert refused(path, {"account_id": ["ACC-2"], "mrr": [Decimal("-1.00")]})
    assert refused(path, {"account_id": [None], "mrr": [Decimal("1.00")]})
    assert not refused(path, {"account_id": ["ACC-3"], "mrr": [None]})  # a null value passes a range


def test_an_unchanged_set_of_constraints_costs_no_extra_commit_and_a_changed_one_is_declared_again(written):
    store, df = written
    path = store.table_path("core", "t")
    before = store.version("core", "t")
    store.stage(df, "core", "t", constraints=CONSTRAINTS).commit()
    assert store.version("core", "t") == before + 1  # the data commit only
    store.stage(df, "core", "t", constraints={"account_id_not_null": "account_id IS NOT NULL"}).commit()
    assert declared(path) == {"account_id_not_null"}
    assert not refused(path, {"account_id": ["ACC-2"], "mrr": [Decimal("-1.00")]})  # mrr_range is gone
