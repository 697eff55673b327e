"""What the report shows: the five published marts as pandas, and which run built them.

Marts are small aggregates (one row per account, month or cohort cell), so
bringing them to the driver is fine here; nothing on the pipeline's data path
does this.

Example::

    >>> data = load_report_data(store)
    >>> data.marts["nrr_summary"].columns[0], data.run.as_of_date
    ('revenue_month', '2025-01-31')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

from novacrm_spark.errors import ReportError
from novacrm_spark.paths import is_local, local_path
from novacrm_spark.run.records import TABLE as RESULTS
from novacrm_spark.store import TableStore
from novacrm_spark.store.manifest import PublishedTables

MARTS = ("customer_health_scores", "churn_risk_view", "nrr_summary", "revenue_cohort_analysis", "sla_adherence")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class RunInfo:
    """The run whose marts the report shows ("unknown" when no run_results.json is found)."""

    run_id: str = UNKNOWN
    as_of_date: str = UNKNOWN


@dataclass(frozen=True)
class ReportData:
    marts: Mapping[str, pd.DataFrame]
    run: RunInfo = RunInfo()
    versions: Mapping[str, int | None] = field(default_factory=dict)


def load_report_data(store: TableStore) -> ReportData:
    """Read every mart (raising :class:`ReportError` naming the missing ones) and the run info."""
    store = PublishedTables(store)  # the marts of the last complete run, never a half-published one
    missing = [name for name in MARTS if not store.exists("marts", name)]
    if missing:
        names = ", ".join(f"marts.{name}" for name in missing)
        raise ReportError(
            f"cannot build the report: {names} not published in warehouse {store.warehouse}; "
            "run `novacrm run` first"
        )
    marts = {name: to_pandas(store.read("marts", name)) for name in MARTS}
    versions = {name: store.version("marts", name) for name in MARTS}
    run = latest_run(store.warehouse) if is_local(store.warehouse) else latest_recorded_run(store)
    return ReportData(marts=marts, run=run, versions=versions)


def to_pandas(df: DataFrame) -> pd.DataFrame:
    """A (small) table as pandas, decimals as floats.

    Decimals would arrive as Python ``Decimal`` objects, which plotly cannot plot;
    doubles are exact enough to draw money and percentages.
    """
    columns = [
        F.col(f.name).cast("double").alias(f.name) if isinstance(f.dataType, DecimalType) else F.col(f.name)
        for f in df.schema.fields
    ]
    return df.select(columns).toPandas()


def latest_run(warehouse: str) -> RunInfo:
    """The latest run that published marts, from ``<warehouse>/_runs/*/run_results.json``.

    Run ids start with the run's start timestamp, so the greatest folder name is the
    latest run. A later run that published no mart (e.g. ``--layer staging``) did not
    build what the report shows, so it is passed over.
    """
    if not is_local(warehouse):
        return RunInfo()  # run_results.json is only written for local warehouses: see latest_recorded_run
    runs_dir = Path(local_path(warehouse)) / "_runs"
    payloads = [p for p in map(_read_json, sorted(runs_dir.glob("*/run_results.json"), reverse=True)) if p]
    for payload in payloads:
        if _published_marts(payload):
            return _run_info(payload)
    return _run_info(payloads[0]) if payloads else RunInfo()


def latest_recorded_run(store: PublishedTables) -> RunInfo:
    """The latest run that published marts, from the run results table ``_runs/results``
    (what a warehouse on object storage has instead of run_results.json)."""
    if not store.exists(*RESULTS):
        return RunInfo()
    row = (store.read(*RESULTS).where("layer = 'marts' AND version IS NOT NULL")
           .orderBy(F.col("run_id").desc()).select("run_id", "as_of_date").first())
    if row is None:
        return RunInfo()
    return RunInfo(run_id=row["run_id"], as_of_date=str(row["as_of_date"] or UNKNOWN))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a half-written or foreign file is not a run: skip it
    return payload if isinstance(payload, dict) else None


def _published_marts(payload: Mapping[str, Any]) -> bool:
    models = payload.get("models") or []
    return any(
        isinstance(m, dict) and m.get("layer") == "marts" and m.get("version") is not None for m in models
    )


def _run_info(payload: Mapping[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=str(payload.get("run_id") or UNKNOWN),
        as_of_date=str(payload.get("as_of_date") or UNKNOWN),
    )
