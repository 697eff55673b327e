"""The run results table _runs/results: one row per model per run, each run its own partition, history kept."""

from __future__ import annotations

import datetime as dt

import pytest
from deltalake import DeltaTable
from pyspark.sql.types import StructType

from novacrm_spark.errors import CommitConflictError
from novacrm_spark.frames import as_nullable
from novacrm_spark.run.records import PARTITION, SCHEMA, TABLE, record_results, result_rows
from novacrm_spark.run.results import ModelResult, RunResult
from novacrm_spark.store import open_store
from novacrm_spark.store.base import TableStore

COLUMNS = [column.split()[0] for column in SCHEMA.split(",")]


def run_result(run_id: str, *names: str) -> RunResult:
    models = [
        ModelResult(name, "staging", "pass", rows=10 + i, seconds=1.25, started_at="2025-02-01T06:00:03.250Z",
                    finished_at="2025-02-01T06:00:04.500Z", version=i, published=True,
                    checks=[{"status": "pass"}, {"status": "warn"}, {"status": "pass"}],
                    quarantine={"rows": 3, "by_reason": {"x": 3}})
        for i, name in enumerate(names)
    ]
    return RunResult(run_id, dt.date(2025, 1, 31), "embedded", models)


def test_a_row_per_model_in_the_schema_order():
    failed = ModelResult("dim_account", "core", "error", rows=5, checks=[{"status": "error"}], message="boom")
    skipped = ModelResult("fct_usage", "core", "skipped", message="an upstream model failed")
    result = run_result("r1", "stg_accounts")
    result.models += [failed, skipped]
    rows = [dict(zip(COLUMNS, row)) for row in result_rows(result)]
    assert rows[0] == {
        "run_id": "r1", "model": "stg_accounts", "layer": "staging", "status": "pass", "rows": 10, "seconds": 1.25,
        "started_at": dt.datetime(2025, 2, 1, 6, 0, 3, 250000, tzinfo=dt.timezone.utc),
        "finished_at": dt.datetime(2025, 2, 1, 6, 0, 4, 500000, tzinfo=dt.timezone.utc),
        "version": 0, "checks": 3, "checks_failed": 0, "checks_warned": 1, "quarantined_rows": 3,
        "as_of_date": dt.date(2025, 1, 31), "engine": "embedded", "message": None,
    }
    assert (rows[1]["status"], rows[1]["checks_failed"], rows[1]["version"], rows[1]["message"]) == (
        "error", 1, None, "boom")
    assert (rows[2]["rows"], rows[2]["started_at"], rows[2]["quarantined_rows"]) == (None, None, None)


def test_each_run_adds_its_own_partition_and_the_history_stays(spark, tmp_path):
    store = open_store(spark, str(tmp_path / "wh"), "embedded")
    lines: list[str] = []
    assert record_results(store, run_result("r1", "stg_accounts", "stg_invoices"), lines.append) == 0
    assert record_results(store, run_result("r2", "stg_accounts"), lines.append) == 1
    # Spark's write path (delta-spark's: a partition replace through stage) adds to the same table.
    rows = result_rows(run_result("r3", "stg_accounts"))
    assert TableStore.replace_partition_rows(store, rows, SCHEMA, *TABLE, PARTITION, "r3") == 2
    # Recording a run again replaces its own partition only.
    assert record_results(store, run_result("r2", "stg_accounts", "stg_invoices"), lines.append) == 3
    assert lines == []

    path = str(tmp_path / "wh" / "_runs" / "results")
    table = DeltaTable(path)
    assert table.metadata().partition_columns == [PARTITION]
    assert table.metadata().description.startswith("One row per model per novacrm run")
    counts = table.to_pandas().groupby("run_id").size().to_dict()
    assert counts == {"r1": 2, "r2": 2, "r3": 1}
    assert DeltaTable(path, version=0).to_pandas()["run_id"].tolist() == ["r1", "r1"]
    # Spark reads it with its types: timestamps are instants, as_of_date a date.
    df = store.read(*TABLE).where("run_id = 'r3'")
    assert df.schema == as_nullable(StructType.fromDDL(SCHEMA))
    assert df.first()["as_of_date"] == dt.date(2025, 1, 31)


class FailingStore:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def replace_partition_rows(self, *args, **kwargs) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return 7

    def table_path(self, layer: str, table: str) -> str:
        return f"s3a://lake/wh/{layer}/{table}"


def test_a_failed_write_is_one_warn_line_and_the_run_goes_on():
    lines: list[str] = []
    store = FailingStore(OSError("No space left on device\nsecond line"))
    assert record_results(store, run_result("r1", "stg_accounts"), lines.append) is None
    assert lines == ["WARN this run's results were not recorded in table _runs.results at "
                     "s3a://lake/wh/_runs/results: No space left on device; this does not change the run's outcome"]


def test_a_conflict_with_another_run_is_retried():
    lines: list[str] = []
    store = FailingStore(CommitConflictError("moved"), CommitConflictError("moved"))
    assert record_results(store, run_result("r1", "stg_accounts"), lines.append) == 7
    assert (store.calls, lines) == (3, [])
    store = FailingStore(*[CommitConflictError("moved")] * 3)
    assert record_results(store, run_result("r1", "stg_accounts"), lines.append) is None
    assert len(lines) == 1 and lines[0].startswith("WARN") and "moved" in lines[0]


@pytest.mark.parametrize("bad", ["../x", ".hidden"])
def test_the_runs_folder_holds_only_plain_table_names(spark, tmp_path, bad):
    store = open_store(spark, str(tmp_path / "wh"), "embedded")
    assert store.table_path(*TABLE).endswith("/_runs/results")
    with pytest.raises(ValueError):
        store.table_path("_runs", bad)
