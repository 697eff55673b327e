"""Runs a selection of models all-or-nothing: stage everything, audit everything, then publish.

1. Every raw file the selection reads is checked first (missing, empty, wrong
   columns, not CSV, not UTF-8); a bad file stops the run before anything is written.
2. Each model is built and its result *staged* (written, not visible). A
   downstream model reads its upstream's staged table from this run (or the
   published table when the upstream is not selected).
3. Each staged table is audited right away against its contract
   (:mod:`novacrm_spark.quality`); a failed ``error`` check, or a source whose
   quarantined share passes ``max_quarantine_fraction``, fails the model and
   every model downstream of it is skipped.
4. Only when no model failed are all staged writes committed; otherwise all
   are discarded, so after a failed run every table holds what it held before.

The run writes ``<warehouse>/_runs/<run_id>/run_results.json`` and ends with
``Done. PASS=<n> WARN=<n> ERROR=<n> SKIP=<n> TOTAL=<n>``.

Example::

    >>> result = run_pipeline(spark, settings, layer="staging")
    >>> result.ok, result.published
    (True, 10)
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
from pyspark.sql import functions as F

from novacrm_spark import as_of
from novacrm_spark.config import Settings
from novacrm_spark.errors import NovaCrmError
from novacrm_spark.quality import CheckResult, Contracts, default_contracts, run_checks
from novacrm_spark.quality.checks import check_params
from novacrm_spark.quality.contracts import TableContract, validate_against_models
from novacrm_spark.registry import Model, StagingResult, all_models, select_models, topological_order
from novacrm_spark.sources import check_raw_file, read_raw, source_path
from novacrm_spark.store import StagedWrite, TableStore, open_store

Progress = Callable[[str], None]


@dataclass
class ModelResult:
    name: str
    layer: str
    status: str  # pass | warn | error | skipped
    rows: int | None = None
    seconds: float = 0.0
    version: int | None = None
    published: bool = False
    inputs: list[str] = field(default_factory=list)
    quarantine: dict[str, Any] | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None


@dataclass
class RunResult:
    run_id: str
    as_of_date: dt.date | None
    engine: str
    models: list[ModelResult]
    inputs: dict[str, str] = field(default_factory=dict)
    published: int = 0
    results_path: str | None = None

    @property
    def ok(self) -> bool:
        return all(m.status in ("pass", "warn") for m in self.models)

    def count(self, status: str) -> int:
        return sum(1 for m in self.models if m.status == status)

    def check_count(self, status: str | None = None) -> int:
        return sum(1 for m in self.models for c in m.checks if status is None or c["status"] == status)

    def checks_line(self) -> str:
        return f"Checks: {self.check_count()} run, {self.check_count('error')} failed, {self.check_count('warn')} warned"

    def publish_line(self) -> str:
        if self.ok:
            return f"Published {self.published} table(s)"
        return "Nothing published: a model failed, so every table keeps its previous version"

    def summary(self) -> str:
        return (
            f"Done. PASS={self.count('pass')} WARN={self.count('warn')} ERROR={self.count('error')} "
            f"SKIP={self.count('skipped')} TOTAL={len(self.models)}"
        )


@dataclass
class Staged:
    """One model's staged writes, waiting for the end of the run."""

    result: ModelResult
    writes: list[tuple[StagedWrite, str]]  # (write, "layer.table")


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
        contracts: Contracts | None = None,
    ) -> None:
        self.spark = spark
        self.settings = settings
        self.store = store
        self.loaded_at = loaded_at
        self.progress = progress
        self.models = all_models()
        self.contracts = contracts or default_contracts()
        self._as_of_date = settings.as_of_date
        # This run's staged (audited, not yet published) tables, by model name.
        self.staged_tables: dict[str, DataFrame] = {}

    # --- inputs ---------------------------------------------------------------

    def check_inputs(self, selection: Iterable[Model]) -> dict[str, str]:
        """Fail before anything is written when a raw file the selection reads is bad."""
        sources = sorted({raw[len("raw_"):] for m in selection for raw in m.raw_inputs})
        for source in sources:
            check_raw_file(self.spark, self.settings.input_dir, source)
        return {source: source_path(self.settings.input_dir, source) for source in sources}

    def table(self, name: str) -> DataFrame:
        """A model's table as this run sees it: staged in this run, else the published version."""
        if name in self.staged_tables:
            return self.staged_tables[name]
        return self.store.read(self.models[name].layer, name)

    def input_frame(self, name: str) -> DataFrame:
        if name.startswith("raw_"):
            return read_raw(self.spark, self.settings.input_dir, name[len("raw_"):])
        return self.table(name)

    @property
    def as_of_date(self) -> dt.date:
        """Configured, or the latest date in the staging tables this run sees (computed once)."""
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

    # --- one model: build, stage, audit ---------------------------------------------

    def build(self, model: Model) -> Staged:
        """Stage the model's table (and quarantine table) and audit them; publishes nothing."""
        started = time.perf_counter()
        output = model.build(*[self.input_frame(name) for name in model.inputs], **self.run_values(model))
        contract = self.contracts.for_model(model.name)
        writes: list[tuple[StagedWrite, str]] = []
        try:
            main = self.stage(output.accepted if isinstance(output, StagingResult) else output, contract)
            writes.append((main, contract.qualified_name))
            checks = self.audit(model, contract, main.dataframe)
            quarantine = None
            if isinstance(output, StagingResult):
                q_contract = self.contracts.for_quarantine(model.quarantine_table)
                q_write = self.stage(output.quarantined, q_contract)
                writes.append((q_write, q_contract.qualified_name))
                checks += run_checks(q_contract, q_write.dataframe, self.table)
                quarantine = self.quarantine_summary(main.num_rows, q_write)
                checks.append(self.quarantine_check(model, quarantine))
        except BaseException:
            _abort(writes)
            raise
        result = _model_result(model, checks, main.num_rows, time.perf_counter() - started)
        result.inputs = [self.input_label(name) for name in model.inputs]
        result.quarantine = quarantine
        return Staged(result, writes)

    def stage(self, df: DataFrame, contract: TableContract) -> StagedWrite:
        """Write ``df`` unpublished, with the contract's descriptions as table and column comments."""
        comments = {k: v for k, v in contract.column_comments().items() if k in df.columns}
        return self.store.stage(
            df, contract.layer, contract.name, description=contract.description, column_comments=comments
        )

    def audit(self, model: Model, contract: TableContract, df: DataFrame) -> list[CheckResult]:
        params = check_params(self.as_of_date) if model.layer != "staging" else {}
        return run_checks(contract, df, self.table, params)

    def input_label(self, name: str) -> str:
        if name.startswith("raw_"):
            return source_path(self.settings.input_dir, name[len("raw_"):])
        source = "staged in this run" if name in self.staged_tables else "published"
        return f"{self.models[name].layer}.{name} ({source})"

    def quarantine_summary(self, accepted: int, write: StagedWrite) -> dict[str, Any]:
        """Quarantined rows of one source: total, share and count per reason (a tiny aggregate)."""
        by_reason: dict[str, int] = {}
        if write.num_rows:
            counts = write.dataframe.groupBy("reason").count().orderBy(F.desc("count"), "reason").collect()
            by_reason = {row["reason"]: int(row["count"]) for row in counts}
        total = accepted + write.num_rows
        return {
            "rows": write.num_rows,
            "source_rows": total,
            "fraction": round(write.num_rows / total, 6) if total else 0.0,
            "by_reason": by_reason,
        }

    def quarantine_check(self, model: Model, quarantine: dict[str, Any]) -> CheckResult:
        """Too many rejected rows means a broken export, not a few bad rows: block the run."""
        limit = self.settings.max_quarantine_fraction
        too_many = quarantine["fraction"] > limit
        reasons = ", ".join(f"{reason}: {n}" for reason, n in quarantine["by_reason"].items())
        return CheckResult(
            table=f"quarantine.{model.quarantine_table}",
            check=f"quarantine_fraction <= {limit:.0%}",
            severity="error",
            failing_rows=quarantine["rows"] if too_many else 0,
            kind="quarantine_threshold",
            detail=(
                f"{quarantine['rows']} of {quarantine['source_rows']} rows of raw_{model.quarantine_table}.csv "
                f"quarantined ({quarantine['fraction']:.1%} > {limit:.0%}); reasons: {reasons}"
                if too_many
                else None
            ),
        )

    # --- the whole run -------------------------------------------------------------

    def run(self, selection: list[Model], run_id: str) -> RunResult:
        validate_against_models(self.contracts, self.models, [m.name for m in topological_order(self.models)])
        inputs = self.check_inputs(selection)
        staged: list[Staged] = []
        results: list[ModelResult] = []
        try:
            for index, model in enumerate(selection, start=1):
                results.append(self.run_one(model, f"[{index:>2}/{len(selection)}]", selection, results, staged))
            published = self.finish(staged, ok=all(r.status in ("pass", "warn") for r in results))
        except BaseException:
            for item in staged:
                _abort(item.writes)
            raise
        return RunResult(run_id, self._as_of_date, self.store.engine, results, inputs, published)

    def run_one(
        self, model: Model, counter: str, selection: list[Model], done: list[ModelResult], staged: list[Staged]
    ) -> ModelResult:
        width = max(len(f"{m.layer}.{m.name}") for m in selection)
        label = f"{counter} {f'{model.layer}.{model.name}':<{width}}"
        failed = {r.name for r in done if r.status in ("error", "skipped")}
        if failed.intersection(self.depends_on(model)):
            self.progress(f"{label}  SKIP   (upstream failed)")
            return ModelResult(model.name, model.layer, "skipped", message="an upstream model failed")
        item = self.build(model)
        self.progress(f"{label}  {_line(item.result)}")
        for line in _check_lines(item.result):
            self.progress(f"      {line}")
        if item.result.status == "error":
            _abort(item.writes)  # never published, and nothing downstream will read it
        else:
            self.staged_tables[model.name] = item.writes[0][0].dataframe
            staged.append(item)
        return item.result

    def depends_on(self, model: Model) -> set[str]:
        """Its inputs and the parents its relationship checks audit against (a failed one skips it)."""
        contract = self.contracts.for_model(model.name)
        parents = {c.to for c in contract.checks if c.kind == "relationships"}
        return set(model.model_inputs) | parents

    def finish(self, staged: list[Staged], ok: bool) -> int:
        """Commit every staged write when the run is clean; otherwise discard them all."""
        if not ok:
            for item in staged:
                _abort(item.writes)
            return 0
        published = 0
        for index, item in enumerate(staged):
            for write, _name in item.writes:
                try:
                    version = write.commit()
                except BaseException:
                    for rest in staged[index:]:
                        _abort(rest.writes)
                    raise
                published += 1
                if write is item.writes[0][0]:
                    item.result.version = version
            item.result.published = True
        return published


def _abort(writes: list[tuple[StagedWrite, str]]) -> None:
    for write, _name in writes:
        write.abort()


def _model_result(model: Model, checks: list[CheckResult], rows: int, seconds: float) -> ModelResult:
    failed = [c for c in checks if c.status == "error"]
    status = "error" if failed else ("warn" if any(c.status == "warn" for c in checks) else "pass")
    return ModelResult(
        name=model.name,
        layer=model.layer,
        status=status,
        rows=rows,
        seconds=round(seconds, 2),
        checks=[c.as_dict() for c in checks],
        message="\n".join(c.describe() for c in failed) or None,
    )


def _line(result: ModelResult) -> str:
    text = f"{result.status.upper():<6} {result.rows:>9,} rows  {result.seconds:6.1f}s"
    quarantine = result.quarantine
    if quarantine and quarantine["rows"]:
        reasons = ", ".join(f"{reason} {n}" for reason, n in quarantine["by_reason"].items())
        text += f"  ({quarantine['rows']:,} quarantined: {reasons})"
    return text


def _check_lines(result: ModelResult) -> list[str]:
    """One line per failed or warned check: table, check, failing rows and sample rows."""
    lines = []
    for check in result.checks:
        if check["status"] == "pass":
            continue
        text = f"{check['status'].upper()} {result.name}: check {check['name']} failed on {check['failing_rows']} row(s)"
        if check["detail"]:
            text += f" ({check['detail']})"
        if check["samples"]:
            text += "; sample rows: " + "; ".join(
                "{" + ", ".join(f"{k}={v}" for k, v in sample.items()) + "}" for sample in check["samples"]
            )
        lines.append(text)
    return lines


def write_run_results(result: RunResult, settings: Settings, warehouse: str) -> str | None:
    """Write ``<warehouse>/_runs/<run_id>/run_results.json`` (local warehouses only)."""
    if "://" in warehouse and not warehouse.startswith("file://"):
        return None
    folder = os.path.join(warehouse.removeprefix("file://"), "_runs", result.run_id)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "run_results.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(run_results_payload(result, settings), handle, indent=2, default=str)
    return path


def run_results_payload(result: RunResult, settings: Settings) -> dict[str, Any]:
    """What run_results.json holds: the run, its inputs, a summary, and every model with its checks."""
    return {
        "run_id": result.run_id,
        "as_of_date": result.as_of_date.isoformat() if result.as_of_date else None,
        "engine": result.engine,
        "input_dir": settings.input_dir,
        "inputs": result.inputs,
        "warehouse": settings.warehouse,
        "max_quarantine_fraction": settings.max_quarantine_fraction,
        "ok": result.ok,
        "published_tables": result.published,
        "summary": {
            **{s: result.count(s) for s in ("pass", "warn", "error", "skipped")},
            "total": len(result.models),
            "checks": result.check_count(),
            "checks_failed": result.check_count("error"),
            "checks_warned": result.check_count("warn"),
        },
        "models": [asdict(m) for m in result.models],
    }


def run_pipeline(
    spark: SparkSession,
    settings: Settings,
    layer: str = "all",
    select: Iterable[str] = (),
    progress: Progress = print,
    loaded_at: dt.datetime | None = None,
    contracts: Contracts | None = None,
) -> RunResult:
    """Build the selected models into ``settings.warehouse`` and report how it went."""
    loaded_at = loaded_at or start_timestamp()
    store = open_store(spark, settings.warehouse, settings.engine)
    runner = Runner(spark, settings, store, loaded_at, progress, contracts)
    selection = select_models(runner.models, layer, select)
    run_id = f"{loaded_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    progress(
        f"Run {run_id}: {len(selection)} model(s), engine {store.engine}, "
        f"input {settings.input_dir}, warehouse {settings.warehouse}"
    )
    result = runner.run(selection, run_id)
    result.results_path = write_run_results(result, settings, settings.warehouse)
    progress(result.checks_line())
    progress(result.publish_line())
    if result.results_path:
        progress(f"Run results: {result.results_path}")
    progress(result.summary())
    return result
