"""Runs a selection of models all-or-nothing: stage everything, audit everything, then publish.

1. Every raw file the selection reads is checked first; a bad file stops the
   run before anything is written.
2. The models form a graph (:mod:`~novacrm_spark.run.schedule`). Each is built
   and its table *staged* (written, not visible) and audited against its
   contract (:mod:`~novacrm_spark.run.audit`); a downstream model reads its
   upstream's staged table. A failed model skips everything downstream.
   After the staging models, one node reads the sources' dates: it derives
   the as-of date when none is set and stops the run when a source is stale
   (:mod:`~novacrm_spark.run.freshness`).
3. Only when no model failed are all staged writes published, between two
   commits of the run manifest (:mod:`~novacrm_spark.run.publish`); otherwise
   all are discarded and every table keeps its previous version.

Example::

    >>> result = run_pipeline(spark, settings, layer="staging")
    >>> result.ok, result.published
    (True, 10)
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Iterable, Sequence

from pyspark.sql import DataFrame, SparkSession

from novacrm_spark import incremental as inc
from novacrm_spark.bookkeeping import BOOKKEEPING
from novacrm_spark.config import Settings
from novacrm_spark.metrics import keep_observed_metrics
from novacrm_spark.model import StagingResult
from novacrm_spark.quality.contracts import Contracts, default_contracts
from novacrm_spark.quality.contracts import TableContract, validate_against_models
from novacrm_spark.quality.flags import check_params
from novacrm_spark.registry import Model, all_models, select_models, table_names, topological_order
from novacrm_spark.retention import retention_properties
from novacrm_spark.run import audit
from novacrm_spark.run.audit import Built
from novacrm_spark.run.freshness import NODE, SourcePlan, check_sources
from novacrm_spark.run.incremental import UsageIncrement, WatermarkPlan
from novacrm_spark.run.inputs import RunInputs
from novacrm_spark.run.log import RunLog, TextLog
from novacrm_spark.run.publish import finish_run, recover
from novacrm_spark.run.records import record_results
from novacrm_spark.run.results import ModelResult, Progress, RunResult, check_lines, invocation_args, new_run_id
from novacrm_spark.run.results import start_timestamp, utc_now, write_run_results
from novacrm_spark.run.schedule import Node, run_graph
from novacrm_spark.store import TableStore, open_store
from novacrm_spark.store.manifest import PublishedTables


class Runner:
    """Builds models against one store for one run; see :func:`run_pipeline`."""

    def __init__(self, spark: SparkSession, settings: Settings, store: TableStore, loaded_at: dt.datetime,
                 log: RunLog | None = None, contracts: Contracts | None = None,
                 increment: UsageIncrement | None = None, allow_stale: bool = False) -> None:
        self.spark, self.settings, self.store, self.loaded_at = spark, settings, store, loaded_at
        self.log = log or TextLog()
        self.progress = self.log.message
        self.began: dict[str, dt.datetime] = {}  # wall clock, as each model starts
        self.models = all_models()
        self.contracts = contracts or default_contracts()
        self.increment = increment
        self.inputs = RunInputs(spark, settings.input_dir, self.models, PublishedTables(store))
        self.as_of_date = settings.as_of_date
        self.allow_stale, self.sources, self.freshness = allow_stale, None, None
        self.failed: set[str] = set()  # models that failed in this run

    def run_values(self, model: Model) -> dict[str, Any]:
        values = {"loaded_at": self.loaded_at, "products": self.settings.products, "as_of_date": self.as_of_date}
        return {name: values[name] for name in model.run_values}

    def params(self, contract: TableContract) -> dict[str, Any]:
        """Core and mart checks may compare with the as-of date; staging and quarantine ones do not."""
        return check_params(self.as_of_date) if contract.layer in ("core", "marts") else {}

    # --- one node: build, stage, audit ----------------------------------------------

    def build(self, name: str) -> Built:
        """Build one graph node; a model's Spark jobs are tagged with it (Spark UI, event logs)."""
        if name == NODE:
            return self.check_sources()
        model = self.models[name]
        tag = f"novacrm-{model.layer}.{model.name}"
        self.spark.addTag(tag)
        try:
            started = time.perf_counter()
            built = self.build_increment(model) if self.increment and self.increment.builds(name) else None
            built = built or self.build_model(model)
            built.result.seconds = round(time.perf_counter() - started, 2)
            return built
        finally:
            self.spark.removeTag(tag)

    def check_sources(self) -> Built:
        """The as-of date (the latest date in the data, when none is set) and the sources' freshness."""
        def table(name: str) -> DataFrame | None:  # staged, else published; a model that failed is left out
            return None if name in self.failed else self.inputs.table(name)

        self.as_of_date, self.freshness = check_sources(self.sources, table, self.as_of_date, self.allow_stale,
                                                        self.progress)
        return Built(None)

    def stage(self, df: DataFrame, contract: TableContract, months: list[dt.date] | None = None) -> Built:
        missing = f"{contract.qualified_name}: the write's metrics did not arrive; counting them with a query"
        return audit.stage_audited(self.store, df, contract, self.inputs.table, self.params(contract), months,
                                   lambda: self.progress(missing))

    def build_model(self, model: Model) -> Built:
        output = model.build(*[self.inputs.frame(name) for name in model.inputs], **self.run_values(model))
        contract = self.contracts.for_model(model.name)
        if not isinstance(output, StagingResult):
            return self.model_built(model, self.stage(output, contract))
        with audit.held(output.validated):
            return self.staging_built(model, output.accepted, output.quarantined)

    def staging_built(self, model: Model, accepted: DataFrame, quarantined: DataFrame,
                      summary: dict[str, Any] | None = None) -> Built:
        """A staging model's table and quarantine table, staged and audited, and where the rows went
        (``summary``: an increment's own accounting; by default the writes' counts)."""
        main = self.stage(accepted, self.contracts.for_model(model.name), self.increment_months(model))
        try:
            q = self.stage(quarantined, self.contracts.for_quarantine(model.quarantine_table))
            main.writes += q.writes
            main.checks += q.checks
            (_, write), (_, q_write) = main.writes
            summary = summary or audit.quarantine_summary(write.num_rows, audit.reasons_of(q_write),
                                                          audit.collapsed_copies(write, q_write))
            main.checks.append(audit.quarantine_check(model.quarantine_table, summary,
                                                      self.settings.max_quarantine_fraction))
        except BaseException:
            main.abort()
            raise
        built = self.model_built(model, main)
        built.result.quarantine = summary
        return built

    def model_built(self, model: Model, staged: Built) -> Built:
        rows = staged.writes[0][1].num_rows
        staged.result = ModelResult.of_checks(model.name, model.layer, staged.checks, rows, 0.0)
        staged.result.inputs = [self.inputs.label(name) for name in model.inputs]
        return staged

    def increment_months(self, model: Model) -> list[dt.date] | None:
        return self.increment.months if self.increment is not None and self.increment.builds(model.name) else None

    def build_increment(self, model: Model) -> Built:
        """stg_usage_events from the new files only, or fct_usage for the months they replaced."""
        from novacrm_spark.models.staging._validation import clean
        from novacrm_spark.models.staging.stg_usage_events import RULES

        if model.layer == "staging" and not self.inputs.usage_files:
            self.increment.months = []
        if model.layer == "staging" and self.inputs.usage_files:
            raw = self.inputs.frame("raw_usage_events")
            output = model.build(raw, self.inputs.table("stg_accounts"), **self.run_values(model))
            published = self.inputs.published.read("staging", model.name)
            quarantine = self.inputs.published.read("quarantine", model.quarantine_table)
            rows, new_quarantine, added = self.increment.new_events(  # merged and counted here, not by the write
                published, output.accepted.drop(*BOOKKEEPING), output.quarantined.drop(*BOOKKEEPING),
                clean(raw, RULES), self.loaded_at)
            by_reason = audit.count_by_reason(new_quarantine)
            # Identical copies: within the new files, or of events already published.
            collapsed = inc.rows_read(output.validated) - added - sum(by_reason.values())
            built = self.staging_built(model, rows, inc.append_quarantine(quarantine, new_quarantine),
                                       audit.quarantine_summary(added, by_reason, collapsed))
            self.increment.written = built.writes[0][1].written
        elif self.increment.months:
            frames = [self.increment.written if name == "stg_usage_events" else self.inputs.frame(name)
                      for name in model.inputs]
            output = model.build(*frames, **self.run_values(model))
            built = self.model_built(model, self.stage(output, self.contracts.for_model(model.name),
                                                       self.increment.months))
        else:
            why = "no usage files after the watermark" if model.layer == "staging" else "no usage month changed"
            return Built(ModelResult(model.name, model.layer, "pass", rows=0, message=f"incremental: {why}"))
        built.result.message = built.result.message or self.increment.message()
        return built

    # --- the whole run -------------------------------------------------------------

    def depends_on(self, model: Model) -> set[str]:
        """Its inputs and the parents its relationship checks audit against (a failed one skips it)."""
        contract = self.contracts.for_model(model.name)
        return set(model.model_inputs) | {c.to for c in contract.checks if c.kind == "relationships"}

    def nodes(self, selection: list[Model]) -> list[Node]:
        """The run's graph in build order: the selected models and, right after the staging models, the
        sources' check (when it derives the as-of date, the core and mart models wait for it)."""
        selected = {m.name for m in selection}
        nodes = [Node(m.name, needs=self.depends_on(m) & selected, weight=self.inputs.upstream_bytes(m))
                 for m in selection]
        self.sources = SourcePlan.of(selection, self.models, self.contracts, self.as_of_date is not None)
        return self.sources.placed(nodes) if self.sources else nodes

    def run(self, selection: list[Model], run_id: str) -> RunResult:
        validate_against_models(self.contracts, self.models, [m.name for m in topological_order(self.models)])
        if self.increment is not None:
            self.increment.check_selection({m.name for m in selection})
        inputs = self.inputs.check(selection, self.increment)

        def started(name: str) -> None:
            if name in self.models:  # not the as-of date's derivation
                self.began[name] = utc_now()
                self.log.model_start(self.models[name].layer, name, self.began[name])

        done: list[Built] = []

        def finished(name: str, built: Built) -> None:
            if built.result is None:
                return
            done.append(built)
            if built.failed:
                built.abort()  # never published, and nothing downstream will read it
                self.failed.add(name)
            elif built.writes:
                self.inputs.staged[name] = built.writes[0][1].dataframe
            built.result.stamp(self.began.get(name), utc_now())
            self.log.model_end(built.result, check_lines(built.checks))

        try:
            outcomes = run_graph(
                self.nodes(selection), self.build, failed=lambda b: b.failed, workers=self.settings.parallel_models,
                skip=lambda name: Built(ModelResult(name, self.models[name].layer, "skipped",
                                                    message="an upstream model failed")),
                on_start=started, on_finish=finished, discard=Built.abort, interrupt=self.spark.interruptAll,
            )
        except BaseException:  # a stale source, say: what finished before is staged, never to be published
            for item in done:
                item.abort()
            raise
        built = [outcomes[m.name] for m in selection]
        # The watermark's new version is published with the tables, under the same run manifest.
        mark = WatermarkPlan.of(self.inputs.published, self.inputs.usage_files, self.increment,
                                {m.name for m in selection})
        published = finish_run(self.store, built, not any(b.failed for b in built), run_id, table_names(self.models),
                               lambda: mark.stage(self.store) if mark else [])
        result = RunResult(run_id, self.as_of_date, self.store.engine, [b.result for b in built], inputs, published)
        result.watermark = mark.report(result.ok, self.progress) if mark else None
        result.freshness = self.freshness.as_dict() if self.freshness else None
        return result


def chosen_models(layer: str = "all", select: Iterable[str] = (), exclude: Iterable[str] = (),
                  models: Sequence[str] | None = None) -> list[Model]:
    """The registry's models a run builds, in build order: ``models`` by name when given, else the selection's."""
    if models is None:
        return select_models(all_models(), layer, select, exclude)
    return select_models(all_models(), "all", list(models)) if models else []  # each name selects itself


def run_pipeline(
    spark: SparkSession, settings: Settings, layer: str = "all", select: Iterable[str] = (),
    progress: Progress = print, loaded_at: dt.datetime | None = None, contracts: Contracts | None = None,
    incremental: bool = False, run_id: str | None = None, exclude: Iterable[str] = (),
    models: Sequence[str] | None = None, log: RunLog | None = None, started_at: dt.datetime | None = None,
    allow_stale: bool = False,
) -> RunResult:
    """Build the selected models into ``settings.warehouse`` and report how it went.

    ``layer``, ``select`` and ``exclude`` choose the models (see
    :func:`~novacrm_spark.registry.select_models`), unless ``models`` names them
    already (the CLI resolves the selection before Spark starts; its selectors still go to ``args``).
    ``incremental`` reads only the raw usage files after the recorded watermark
    and replaces only the event months they touch (see :mod:`novacrm_spark.run.incremental`).
    ``log`` tells the run (default: lines to ``progress``); ``started_at`` is when the command began.
    A stale source stops the run (:class:`~novacrm_spark.errors.StaleDataError`) unless ``allow_stale``.
    """
    started_at = started_at or utc_now()
    selection = chosen_models(layer, select, exclude, models)  # before the store opens
    loaded_at = loaded_at or start_timestamp()
    log = log or TextLog(progress)
    keep_observed_metrics(spark)
    store = open_store(spark, settings.warehouse, settings.engine, retention_properties(settings))
    recover(store, log.message)  # a run killed while publishing: roll it forward or back first
    increment = UsageIncrement.start(store, log.message) if incremental else None
    runner = Runner(spark, settings, store, loaded_at, log, contracts, increment, allow_stale)
    run_id = run_id or new_run_id(loaded_at)
    log.run_start(run_id, selection, store.engine, settings, incremental)
    result = runner.run(selection, run_id)
    result.args = invocation_args(settings, layer, select, exclude, incremental, allow_stale)
    result.stamp(started_at, utc_now())
    result.results_path = write_run_results(result, settings, settings.warehouse)
    record_results(store, result, log.message)  # _runs/results, on any storage; a failure is one WARN line
    log.run_end(result)
    return result
