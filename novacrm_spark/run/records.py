"""The run results table: every run's model results, as a Delta table wherever the tables live.

``<warehouse>/_runs/results`` gets one row per selected model per run
(:data:`SCHEMA`; docs/run_results.md describes each column), written through
the store like any table, so it exists on object storage and with either
engine. It is partitioned by ``run_id``: a run adds its own partition in one
commit and rewrites no other run's rows, so the table's history is every run.

It is bookkeeping, written after the run's outcome is settled (after the run
manifest's last commit when the run published). Failing to write it does not
change that outcome: the run prints one ``WARN`` line (before its summary) and
ends as it would have.
``run_results.json`` (local warehouses) stays the full record of a run.

Example::

    >>> record_results(store, result, print)       # after publishing
    7
    >>> spark.read.format("delta").load("warehouse/_runs/results").where("status = 'error'")
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from novacrm_spark.errors import CommitConflictError
from novacrm_spark.run.log import model_end_fields
from novacrm_spark.run.results import ModelResult, Progress, RunResult
from novacrm_spark.store import TableStore
from novacrm_spark.store.base import RUNS_LAYER
from novacrm_spark.store.manifest import Table

TABLE: Table = (RUNS_LAYER, "results")
PARTITION = "run_id"
SCHEMA = (
    "run_id string, model string, layer string, status string, rows long, seconds double, "
    "started_at timestamp, finished_at timestamp, version long, checks long, checks_failed long, "
    "checks_warned long, quarantined_rows long, as_of_date date, engine string, message string"
)
DESCRIPTION = "One row per model per novacrm run, partitioned by run_id (docs/run_results.md)."
ATTEMPTS = 3  # another run (object storage has no run lock) may commit its own rows at the same moment


def result_rows(result: RunResult) -> list[tuple[Any, ...]]:
    """The run's rows, in :data:`SCHEMA`'s column order."""
    return [_row(result, model) for model in result.models]


def _row(run: RunResult, model: ModelResult) -> tuple[Any, ...]:
    fields = model_end_fields(model)
    return (
        run.run_id, model.name, model.layer, model.status, model.rows, model.seconds,
        _instant(model.started_at), _instant(model.finished_at), model.version, fields["checks"],
        fields["checks_failed"], fields["checks_warned"], fields["quarantined_rows"], run.as_of_date, run.engine,
        model.message,
    )


def _instant(text: str | None) -> dt.datetime | None:
    """``2025-02-01T06:00:03.250Z`` -> an aware UTC datetime (a UTC ``timestamp`` in Delta)."""
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def record_results(store: TableStore, result: RunResult, warn: Progress) -> int | None:
    """Add the run's rows to the results table; returns its new version, or None (and one WARN line)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return store.replace_partition_rows(result_rows(result), SCHEMA, *TABLE, PARTITION, result.run_id,
                                                description=DESCRIPTION)
        except CommitConflictError as exc:
            if attempt == ATTEMPTS:
                return _not_recorded(store, exc, warn)
        except Exception as exc:  # noqa: BLE001 - bookkeeping: the run's outcome stands, whatever failed here
            return _not_recorded(store, exc, warn)
    return None


def _not_recorded(store: TableStore, exc: Exception, warn: Progress) -> None:
    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    warn(f"WARN this run's results were not recorded in table {'.'.join(TABLE)} at {store.table_path(*TABLE)}: "
         f"{reason}; this does not change the run's outcome")
    return None
