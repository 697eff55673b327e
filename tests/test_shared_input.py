"""The validated rows a staging model's two tables share: held once, released after both writes."""

import datetime as dt

import pytest

from novacrm_spark.models.staging.stg_accounts import stg_accounts
from novacrm_spark.run.audit import held
from novacrm_spark.session import runs_in_one_jvm
from novacrm_spark.sources import SOURCES

LOADED = dt.datetime(2025, 2, 1, 6, 0, 0)
ROWS = [
    ("ACC-1", "Acme", None, "42", "growth", "Ann", "europe", "2024-01-15", "active"),
    ("ACC-2", "Beta", None, "42.0", "starter", None, "apac", "2024-02-01", "active"),  # not an integer
    ("ACC-3", "Gamma", None, "7", "platinum", None, "apac", "2024-02-01", "active"),  # unknown tier
]


@pytest.fixture
def staged(spark):
    return stg_accounts(spark.createDataFrame(ROWS, SOURCES["accounts"].schema), loaded_at=LOADED)


def test_the_validated_rows_are_persisted_while_both_tables_are_written_then_released(staged):
    with held(staged.validated) as frame:
        assert frame is staged.validated
        assert staged.validated.is_cached
        assert (staged.accepted.count(), staged.quarantined.count()) == (1, 2)
    assert not staged.validated.is_cached


def test_a_failed_write_releases_them_too(staged):
    with pytest.raises(RuntimeError), held(staged.validated):
        raise RuntimeError("the write failed")
    assert not staged.validated.is_cached


@pytest.mark.parametrize(
    ("master", "one_jvm"),
    [("local", True), ("local[2]", True), ("local[*, 3]", True), ("local-cluster[2,1,1024]", False),
     ("yarn", False), ("spark://host:7077", False)],
)
def test_only_a_master_whose_executor_is_the_driver_runs_in_one_jvm(master, one_jvm):
    assert runs_in_one_jvm(master) is one_jvm
