"""Runs a selection of models: read inputs, build, audit, publish (write-audit-publish).

Each model's result is staged (written, not yet visible), checked, and only
then committed as one Delta version. A failed ``error`` check aborts the
staged write, so readers keep the previous version, and every model
downstream of it is skipped. The run ends with a summary line and a
``run_results.json`` under ``<warehouse>/_runs/<run_id>/``.

Example::

    >>> result = run_pipeline(spark, settings, layer="staging")
    >>> result.ok
    True
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from pyspark.sql import DataFrame, SparkSession

from novacrm_spark import as_of
from novacrm_spark.config import Settings
from novacrm_spark.errors import NovaCrmError
from novacrm_spark.quality import CheckResult, run_checks
from novacrm_spark.registry import Model, StagingResult, all_models, select_models
from novacrm_spark.sources import check_raw_file, read_raw
from novacrm_spark.store import TableStore, open_store

Progress = Callable[[str], None]


@dataclass
class ModelResult:
    name: str
    layer: str
    status: str  # pass | warn | error | skipped
    rows: int | None = None
    seconds: float = 0.0
    version: int | None = None
    quarantined: int | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None


@dataclass
class RunResult:
    run_id: str
    as_of_date: dt.date | None
    engine: str
    models: list[ModelResult]
    results_path: str | None = None

    @property
    def ok(self) -> bool:
        return all(m.status in ("pass", "warn") for m in self.models)

    def count(self, status: str) -> int:
        return sum(1 for m in self.models if m.status == status)

    def summary(self) -> str:
        checks = sum(len(m.checks) for m in self.models)
        return (
            f"Done. PASS={self.count('pass')} WARN={self.count('warn')} ERROR={self.count('error')} "
            f"SKIP={self.count('skipped')} TOTAL={len(self.models)} (checks run: {checks})"
        )


def start_timestamp() -> dt.datetime:
    """The run's single start timestamp (naive UTC): the only wall-clock value a run uses."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Runner:
    """Executes models against one store; see :func:`run_pipeline`."""

    def __init__(
        self,
        spark: SparkSession,
        settings: Settings,
        store: TableStore,
        loaded_at: dt.datetime,
        progress: Progress = print,
    ) -> None:
        self.spark = spark
        self.settings = settings
        self.store = store
        self.loaded_at = loaded_at
        self.progress = progress
        self.models = all_models()
        self._as_of_date = settings.as_of_date

    # --- inputs ---------------------------------------------------------------

    def check_inputs(self, selection: Iterable[Model]) -> None:
        """Fail before anything is written when a raw file the selection reads is bad."""
        for source in sorted({raw for m in selection for raw in m.raw_inputs}):
            check_raw_file(self.spark, self.settings.input_dir, source[len("raw_"):])

    def table(self, name: str) -> DataFrame:
        """The published version of a model's table."""
        return self.store.read(self.models[name].layer, name)

    def input_frame(self, name: str) -> DataFrame:
        if name.startswith("raw_"):
            return read_raw(self.spark, self.settings.input_dir, name[len("raw_"):])
        return self.table(name)

    @property
    def as_of_date(self) -> dt.date:
        """Configured, or the latest date in the published staging tables (computed once)."""
        if self._as_of_date is None:
            frames = [self.table(name) for name in as_of.STAGING_INPUTS]
            latest = as_of.latest_data_date(*frames).first()[0]
            if latest is None:
                raise NovaCrmError("cannot derive as_of_date: the staging tables hold no dates; pass --as-of")
            self._as_of_date = latest
            self.progress(f"as_of_date not set: using {latest} (latest date in the data)")
        return self._as_of_date

    def run_values(self, model: Model) -> dict[str, Any]:
        values = {"loaded_at": self.loaded_at, "products": self.settings.products}
        return {name: (self.as_of_date if name == "as_of_date" else values[name]) for name in model.run_values}

    # --- one model --------------------------------------------------------------

    def build(self, model: Model) -> ModelResult:
        started = time.perf_counter()
        inputs = [self.input_frame(name) for name in model.inputs]
        output = model.build(*inputs, **self.run_values(model))
        staged = []
        try:
            if isinstance(output, StagingResult):
                main = self.store.stage(output.accepted, model.layer, model.name)
                staged.append(main)
                quarantine = self.store.stage(output.quarantined, "quarantine", model.quarantine_table)
                staged.append(quarantine)
            else:
                main = self.store.stage(output, model.layer, model.name)
                staged.append(main)
                quarantine = None
            checks = run_checks(model, main.dataframe, self.table)
            if quarantine is not None:
                checks.append(self.quarantine_check(model, main.num_rows, quarantine.num_rows))
            failed = [c for c in checks if c.status == "error"]
            status = "error" if failed else ("warn" if any(c.status == "warn" for c in checks) else "pass")
            if failed:
                for write in staged:
                    write.abort()
                version = None
            else:
                version = main.commit()
                if quarantine is not None:
                    quarantine.commit()
        except BaseException:
            for write in staged:
                write.abort()
            raise
        return ModelResult(
            name=model.name,
            layer=model.layer,
            status=status,
            rows=main.num_rows,
            seconds=round(time.perf_counter() - started, 2),
            version=version,
            quarantined=quarantine.num_rows if quarantine is not None else None,
            checks=[_check_dict(c) for c in checks],
            message="\n".join(c.describe() for c in failed) or None,
        )

    def quarantine_check(self, model: Model, accepted: int, quarantined: int) -> CheckResult:
        """Too many rejected rows means a broken export, not a few bad rows: block the run."""
        total = accepted + quarantined
        fraction = quarantined / total if total else 0.0
        limit = self.settings.max_quarantine_fraction
        return CheckResult(
            table=model.name,
            check=f"quarantine_fraction <= {limit:.0%} ({quarantined} of {total} rows quarantined)",
            severity="error",
            failing_rows=quarantined if fraction > limit else 0,
        )

    # --- the whole run -------------------------------------------------------------

    def run(self, selection: list[Model], run_id: str) -> RunResult:
        self.check_inputs(selection)
        results: list[ModelResult] = []
        blocked: set[str] = set()
        width = max((len(f"{m.layer}.{m.name}") for m in selection), default=0)
        for index, model in enumerate(selection, start=1):
            label = f"[{index:>2}/{len(selection)}] {f'{model.layer}.{model.name}':<{width}}"
            if blocked.intersection(model.model_inputs):
                result = ModelResult(model.name, model.layer, "skipped", message="an upstream model failed")
                self.progress(f"{label}  SKIP   (upstream failed)")
            else:
                result = self.build(model)
                self.progress(f"{label}  {_line(result)}")
                if result.message:
                    self.progress(f"      {result.message}")
            if result.status in ("error", "skipped"):
                blocked.add(model.name)
            results.append(result)
        return RunResult(
            run_id=run_id,
            as_of_date=self._as_of_date,
            engine=self.store.engine,
            models=results,
        )


def _line(result: ModelResult) -> str:
    text = f"{result.status.upper():<6} {result.rows:>9,} rows  {result.seconds:6.1f}s"
    if result.quarantined:
        text += f"  ({result.quarantined:,} quarantined)"
    return text


def _check_dict(check: CheckResult) -> dict[str, Any]:
    data = asdict(check)
    data["status"] = check.status
    data["samples"] = [{k: str(v) for k, v in s.items()} for s in check.samples]
    return data


def write_run_results(result: RunResult, settings: Settings, warehouse: str) -> str | None:
    """Write ``<warehouse>/_runs/<run_id>/run_results.json`` (local warehouses only)."""
    if "://" in warehouse and not warehouse.startswith("file://"):
        return None
    folder = os.path.join(warehouse.removeprefix("file://"), "_runs", result.run_id)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "run_results.json")
    payload = {
        "run_id": result.run_id,
        "as_of_date": result.as_of_date.isoformat() if result.as_of_date else None,
        "engine": result.engine,
        "input_dir": settings.input_dir,
        "warehouse": settings.warehouse,
        "summary": {s: result.count(s) for s in ("pass", "warn", "error", "skipped")},
        "models": [asdict(m) for m in result.models],
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, default=str)
    return path


def run_pipeline(
    spark: SparkSession,
    settings: Settings,
    layer: str = "all",
    select: Iterable[str] = (),
    progress: Progress = print,
    loaded_at: dt.datetime | None = None,
) -> RunResult:
    """Build the selected models into ``settings.warehouse`` and report how it went."""
    loaded_at = loaded_at or start_timestamp()
    store = open_store(spark, settings.warehouse, settings.engine)
    runner = Runner(spark, settings, store, loaded_at, progress)
    selection = select_models(runner.models, layer, select)
    run_id = f"{loaded_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    progress(
        f"Run {run_id}: {len(selection)} model(s), engine {store.engine}, "
        f"input {settings.input_dir}, warehouse {settings.warehouse}"
    )
    result = runner.run(selection, run_id)
    result.results_path = write_run_results(result, settings, settings.warehouse)
    progress(result.summary())
    return result
