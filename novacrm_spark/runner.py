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
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from novacrm_spark import as_of
from novacrm_spark.config import Settings
from novacrm_spark.errors import NovaCrmError, SelectionError
from novacrm_spark.quality import CheckResult, Contracts, default_contracts, run_checks
from novacrm_spark.quality.checks import check_params, name_unrunnable_check, row_level_metrics, with_keyed_flags
from novacrm_spark.quality.contracts import TableContract, validate_against_models
from novacrm_spark.registry import (
    BOOKKEEPING, COLLAPSED, Model, StagingResult, all_models, select_models, topological_order
)
from novacrm_spark import incremental as inc
from novacrm_spark.metrics import keep_observed_metrics, observed_or_counted
from novacrm_spark.source_checks import check_raw_file
from novacrm_spark.sources import RawFile, list_source_files, read_raw, source_bytes, source_location
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
    # Raw usage files: the watermark before and after this run, and the files read.
    watermark: dict[str, Any] | None = None

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
        incremental: bool = False,
    ) -> None:
        self.spark = spark
        self.settings = settings
        self.store = store
        self.loaded_at = loaded_at
        self.progress = progress
        self.models = all_models()
        self.contracts = contracts or default_contracts()
        self._as_of_date = settings.as_of_date
        self._as_of_lock = threading.Lock()
        # This run's staged (audited, not yet published) tables, by model name.
        self.staged_tables: dict[str, DataFrame] = {}
        self.incremental = incremental
        # Usage files this run reads (all, or those after the watermark) and the months it replaces.
        self.usage_files: list[RawFile] | None = None
        self.previous_watermark: inc.Watermark | None = None
        self.replaced_months: list[dt.date] | None = None
        self.usage_written: DataFrame | None = None
        # Bytes of each raw export the selection reads: the scheduler's measure of work.
        self.input_bytes: dict[str, int] = {}

    # --- inputs ---------------------------------------------------------------

    def check_inputs(self, selection: Iterable[Model]) -> dict[str, str]:
        """Fail before anything is written when a raw file the selection reads is bad."""
        sources = sorted({raw[len("raw_"):] for m in selection for raw in m.raw_inputs})
        for source in sources:
            files = self.select_usage_files() if source == inc.USAGE_SOURCE else None
            check_raw_file(self.spark, self.settings.input_dir, source, files)
            self.input_bytes[source] = source_bytes(self.spark, self.settings.input_dir, source)
        return {source: source_location(self.spark, self.settings.input_dir, source) for source in sources}

    def check_incremental_selection(self, selection: list[Model]) -> None:
        """An incremental stg_usage_events must rebuild fct_usage's months in the same run.

        Otherwise the watermark would move past events whose fct_usage days were never rebuilt.
        """
        if self.incremental and self.leaves_usage_fact_behind({m.name for m in selection}):
            raise SelectionError(
                "--incremental: stg_usage_events is selected without fct_usage; select both "
                "(e.g. --select stg_usage_events+) so the replaced months of fct_usage follow"
            )

    def leaves_usage_fact_behind(self, names: set[str]) -> bool:
        """True when ``names`` rebuild stg_usage_events but not the published fct_usage built from it."""
        return "stg_usage_events" in names and "fct_usage" not in names and self.store.exists("core", "fct_usage")

    def select_usage_files(self) -> list[RawFile]:
        """Every raw usage file, or in an incremental run only those after the watermark."""
        files = list_source_files(self.spark, self.settings.input_dir, inc.USAGE_SOURCE)
        self.previous_watermark = inc.read_watermark(self.settings.warehouse)
        if self.incremental and not self.can_increment():
            self.progress("incremental: no watermark or published usage tables yet, so usage is built in full")
        if self.can_increment():
            files = inc.newer_files(files, self.previous_watermark)
            self.progress(f"incremental: {len(files)} usage file(s) after the watermark {self.previous_watermark}")
        self.usage_files = files
        return files

    def can_increment(self) -> bool:
        """Incremental usage needs a recorded watermark and a published stg_usage_events."""
        return (
            self.incremental
            and self.previous_watermark is not None
            and self.store.exists("staging", "stg_usage_events")
        )

    def table(self, name: str) -> DataFrame:
        """A model's table as this run sees it: staged in this run, else the published version."""
        if name in self.staged_tables:
            return self.staged_tables[name]
        return self.store.read(self.models[name].layer, name)

    def input_frame(self, name: str) -> DataFrame:
        if name.startswith("raw_"):
            source = name[len("raw_"):]
            files = self.usage_files if source == inc.USAGE_SOURCE else None
            return read_raw(self.spark, self.settings.input_dir, source, files)
        return self.table(name)

    @property
    def as_of_date(self) -> dt.date:
        """Configured, or the latest date in the staging tables this run sees (computed once)."""
        with self._as_of_lock:
            return self._derive_as_of_date()

    def _derive_as_of_date(self) -> dt.date:
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
        if model.name == "stg_usage_events" and self.can_increment():
            return self.build_usage_increment(model)
        if model.name == "fct_usage" and self.replaced_months is not None and self.store.exists("core", "fct_usage"):
            return self.build_usage_fact_increment(model)
        started = time.perf_counter()
        output = model.build(*[self.input_frame(name) for name in model.inputs], **self.run_values(model))
        contract = self.contracts.for_model(model.name)
        writes: list[tuple[StagedWrite, str]] = []
        shared = SharedInput.hold(output)
        try:
            main = self.stage(_accepted_frame(output), contract)
            writes.append((main, contract.qualified_name))
            checks = self.audit(contract, main)
            quarantine = None
            if isinstance(output, StagingResult):
                q_contract = self.contracts.for_quarantine(model.quarantine_table)
                q_write = self.stage(_quarantined_frame(output), q_contract)
                writes.append((q_write, q_contract.qualified_name))
                checks += self.audit(q_contract, q_write)
                collapsed = sum(int(w.metrics.get(COLLAPSED) or 0) for w in (main, q_write))
                quarantine = self.quarantine_summary(main.num_rows, q_write.dataframe, q_write.num_rows,
                                                     _observed_reasons(q_write.metrics), collapsed)
                checks.append(self.quarantine_check(model, quarantine))
        except BaseException:
            _abort(writes)
            raise
        finally:
            shared.release()
        result = _model_result(model, checks, main.num_rows, time.perf_counter() - started)
        result.inputs = [self.input_label(name) for name in model.inputs]
        result.quarantine = quarantine
        return Staged(result, writes)

    def stage(self, df: DataFrame, contract: TableContract, months: list[dt.date] | None = None) -> StagedWrite:
        """Write ``df`` unpublished, with the contract's descriptions as table and column comments.

        Usage tables get their ``event_month`` partition column; with ``months``
        only those partitions are replaced. The contract's checks (and, for a
        quarantine table, the count per reason) are counted by the write itself:
        no query of their own, only sample rows of a failing check are read back.
        """
        extra: dict[str, Any] = {}
        if contract.layer != "quarantine" and contract.name in inc.PARTITIONED_TABLES:
            df = inc.with_event_month(df, inc.PARTITIONED_TABLES[contract.name])
            extra["partition_by"] = [inc.PARTITION_COLUMN]
            if months is not None:
                extra["replace_partitions"] = months
        params = self.check_params(contract)
        metrics = row_level_metrics(contract, params)
        if contract.layer == "quarantine":
            metrics += _reason_counts(contract)
        if COLLAPSED in df.columns:
            metrics.append(F.sum(COLLAPSED).alias(COLLAPSED))
        columns = [c for c in df.columns if c not in BOOKKEEPING]
        comments = {k: v for k, v in contract.column_comments().items() if k in columns}
        try:
            flagged, keyed = with_keyed_flags(contract, df, self.table)
            observed, observation = TableStore.observed(flagged, metrics + keyed)
            write = self.store.stage(
                observed.select(*columns), contract.layer, contract.name, description=contract.description,
                column_comments=comments, **extra
            )
        except AnalysisException:
            name_unrunnable_check(contract, df, params)  # a check's expression, rather than the model?
            raise
        missing = f"{contract.qualified_name}: the write's metrics did not arrive; counting them with a query"
        write.metrics = observed_or_counted(observation, flagged, metrics + keyed, lambda: self.progress(missing))
        return write

    # --- incremental usage ----------------------------------------------------------

    def build_usage_increment(self, model: Model) -> Staged:
        """stg_usage_events from the new files only: replace the months they touch, dedupe against the table."""
        started = time.perf_counter()
        contract = self.contracts.for_model(model.name)
        q_contract = self.contracts.for_quarantine(model.quarantine_table)
        self.replaced_months = []
        if not self.usage_files:
            return self.nothing_new(model, started, "no usage files after the watermark")
        from novacrm_spark.models.staging._validation import clean
        from novacrm_spark.models.staging.stg_usage_events import RULES

        raw = self.input_frame("raw_usage_events")
        output = model.build(raw, self.table("stg_accounts"), **self.run_values(model))
        published = self.store.read("staging", model.name)
        # The tables' own columns: the bookkeeping columns count a full build's rows, not a merge's.
        to_add, conflicting = inc.merge_new_events(published, output.accepted.drop(*BOOKKEEPING))
        conflicts = inc.conflict_quarantine(clean(raw, RULES), conflicting, self.loaded_at)
        new_quarantine = output.quarantined.drop(*BOOKKEEPING).unionByName(conflicts)
        # A handful of month dates: the partitions this run replaces, and the new rows each gets.
        counted = inc.affected_months(to_add, new_quarantine).collect()
        months, added = sorted(r[0] for r in counted), sum(int(r[1]) for r in counted)
        self.replaced_months = months
        writes: list[tuple[StagedWrite, str]] = []
        try:
            rows = inc.rows_of_months(published, months).unionByName(inc.with_event_month(to_add))
            main = self.stage(rows, contract, months)
            writes.append((main, contract.qualified_name))
            self.usage_written = main.written
            checks = self.audit(contract, main, main.written)
            old_quarantine = self.store.read("quarantine", model.quarantine_table) if self.store.exists(
                "quarantine", model.quarantine_table) else new_quarantine.limit(0)
            q_write = self.stage(inc.append_quarantine(old_quarantine, new_quarantine), q_contract)
            writes.append((q_write, q_contract.qualified_name))
            checks += self.audit(q_contract, q_write)
            rejected = new_quarantine.count()
            # Identical copies: within the new files, or of events already published.
            collapsed = inc.rows_read(output.validated) - added - rejected
            quarantine = self.quarantine_summary(added, new_quarantine, rejected, collapsed=collapsed)
            checks.append(self.quarantine_check(model, quarantine))
        except BaseException:
            _abort(writes)
            raise
        result = _model_result(model, checks, main.num_rows, time.perf_counter() - started)
        result.inputs = [f.path for f in self.usage_files] + ["staging.stg_accounts", "staging.stg_usage_events (published)"]
        result.quarantine = quarantine
        result.message = result.message or f"incremental: replaced month(s) {', '.join(map(str, months)) or 'none'}"
        return Staged(result, writes)

    def build_usage_fact_increment(self, model: Model) -> Staged:
        """fct_usage for the replaced months only (a day's row depends on that day's events alone)."""
        started = time.perf_counter()
        months = self.replaced_months or []
        if not months:
            return self.nothing_new(model, started, "no usage month changed")
        contract = self.contracts.for_model(model.name)
        frames = [self.usage_written if name == "stg_usage_events" else self.input_frame(name) for name in model.inputs]
        output = model.build(*frames, **self.run_values(model))
        main = self.stage(output, contract, months)
        try:
            checks = self.audit(contract, main, main.written)
        except BaseException:
            main.abort()
            raise
        result = _model_result(model, checks, main.num_rows, time.perf_counter() - started)
        result.inputs = [self.input_label(name) for name in model.inputs]
        result.message = result.message or f"incremental: replaced month(s) {', '.join(map(str, months))}"
        return Staged(result, [(main, contract.qualified_name)])

    def nothing_new(self, model: Model, started: float, why: str) -> Staged:
        """A model with nothing to do this run: it passes, writes nothing and keeps its published table."""
        result = ModelResult(model.name, model.layer, "pass", rows=0, message=f"incremental: {why}")
        result.seconds = round(time.perf_counter() - started, 2)
        return Staged(result, [])

    def check_params(self, contract: TableContract) -> dict[str, Any]:
        """Core and mart checks may compare with the as-of date; staging and quarantine ones do not."""
        return check_params(self.as_of_date) if contract.layer in ("core", "marts") else {}

    def audit(self, contract: TableContract, write: StagedWrite, df: DataFrame | None = None) -> list[CheckResult]:
        """The contract's checks on the staged table (or ``df``), from the counts its write observed."""
        df = write.dataframe if df is None else df
        return run_checks(contract, df, self.table, self.check_params(contract), observed=write.metrics)

    def input_label(self, name: str) -> str:
        if name.startswith("raw_"):
            return source_location(self.spark, self.settings.input_dir, name[len("raw_"):])
        source = "staged in this run" if name in self.staged_tables else "published"
        return f"{self.models[name].layer}.{name} ({source})"

    def quarantine_summary(
        self, accepted: int, quarantined: DataFrame, rows: int, observed: dict[str, int] | None = None,
        collapsed: int = 0,
    ) -> dict[str, Any]:
        """Where a source's rows went: ``source_rows`` (data rows read) = ``staged_rows`` +
        ``rows`` (quarantined) + ``collapsed_rows`` (identical copies); the quarantined share
        of the rows read, and the count per reason.

        ``observed``: counts per declared reason taken while the table was
        written; when they do not add up (an undeclared reason), one tiny
        aggregate over the quarantine table counts them instead.
        """
        by_reason: dict[str, int] = {}
        if rows and observed is not None and sum(observed.values()) == rows:
            by_reason = {r: n for r, n in sorted(observed.items(), key=lambda kv: (-kv[1], kv[0])) if n}
        elif rows:
            counts = quarantined.groupBy("reason").count().orderBy(F.desc("count"), "reason").collect()
            by_reason = {row["reason"]: int(row["count"]) for row in counts}
        total = accepted + rows + collapsed
        return {
            "rows": rows,
            "source_rows": total,
            "staged_rows": accepted,
            "collapsed_rows": collapsed,
            "fraction": round(rows / total, 6) if total else 0.0,
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
        self.check_incremental_selection(selection)
        inputs = self.check_inputs(selection)
        schedule = _Schedule(self, selection)
        try:
            schedule.run()
            ok = all(r.status in ("pass", "warn") for r in schedule.results.values())
            published = self.finish(schedule.staged_in_order(), ok=ok)
        except BaseException:
            for item in schedule.staged:
                _abort(item.writes)
            raise
        results = [schedule.results[m.name] for m in selection]
        result = RunResult(run_id, self._as_of_date, self.store.engine, results, inputs, published)
        result.watermark = self.record_watermark(ok, {m.name for m in selection})
        return result

    def record_watermark(self, published: bool, selected: set[str]) -> dict[str, Any] | None:
        """After a run that published usage, move the watermark past the files it read.

        A full rebuild of stg_usage_events without fct_usage (say ``--layer staging``)
        forgets the watermark instead: the published fct_usage no longer matches the
        events up to it, so the next incremental run must rebuild both in full.
        """
        if self.usage_files is None:
            return None
        new = inc.Watermark.of(self.usage_files)
        if self.can_increment() and new is None:
            new = self.previous_watermark  # no new file: the watermark stays
        if published and not self.can_increment() and self.leaves_usage_fact_behind(selected):
            inc.clear_watermark(self.settings.warehouse)
            self.progress("incremental: usage watermark cleared (stg_usage_events was rebuilt without fct_usage); "
                          "the next --incremental run builds both in full")
            new = None
        if published and new is not None:
            # Written after every table committed: a crash in between re-reads files whose
            # rows are then identical copies, which the incremental merge drops.
            inc.write_watermark(self.settings.warehouse, new)
        current = new if published else self.previous_watermark
        return {
            "incremental": self.can_increment(),
            "previous": self.previous_watermark.as_dict() if self.previous_watermark else None,
            "watermark": current.as_dict() if current else None,
            "files_read": [f.name for f in self.usage_files],
            "replaced_months": [m.isoformat() for m in self.replaced_months] if self.replaced_months is not None else None,
        }

    def build_in_thread(self, model: Model) -> Staged:
        """:meth:`build`, with the Spark jobs tagged by the model (Spark UI, event logs; classic and Connect)."""
        tag = f"novacrm-{model.layer}.{model.name}"
        self.spark.addTag(tag)
        try:
            return self.build(model)
        finally:
            self.spark.removeTag(tag)

    def depends_on(self, model: Model) -> set[str]:
        """Its inputs and the parents its relationship checks audit against (a failed one skips it)."""
        contract = self.contracts.for_model(model.name)
        parents = {c.to for c in contract.checks if c.kind == "relationships"}
        return set(model.model_inputs) | parents

    def upstream_bytes(self, model: Model) -> int:
        """Bytes of the raw exports ``model`` is built from, directly or through other models.

        A rough measure of a model's work, for the scheduler (see :class:`_Schedule`).
        """
        sources: set[str] = set()
        pending = [model.name]
        while pending:
            current = self.models[pending.pop()]
            sources.update(raw[len("raw_"):] for raw in current.raw_inputs)
            pending.extend(current.model_inputs)
        return sum(self.input_bytes.get(source, 0) for source in sources)

    def waits_for(self, model: Model) -> set[str]:
        """What must be staged before the model starts: :meth:`depends_on`, and, when the as-of
        date comes from the data, the staging tables it is read from (every non-staging model's
        checks use it)."""
        names = self.depends_on(model)
        if model.layer != "staging" and self.settings.as_of_date is None:
            names |= set(as_of.STAGING_INPUTS)
        return names

    def finish(self, staged: list[Staged], ok: bool) -> int:
        """Commit every staged write when the run is clean; otherwise discard them all."""
        if not ok:
            for item in staged:
                _abort(item.writes)
            return 0
        writes = [write for item in staged for write, _name in item.writes]
        try:
            # Every table is checked against its staged version before any commits (store.publish).
            versions = self.store.publish(writes)
        except BaseException:
            for item in staged:
                _abort(item.writes)  # the uncommitted ones; a committed write ignores abort
            raise
        by_write = {id(write): version for write, version in zip(writes, versions)}
        for item in staged:
            if item.writes:
                item.result.version = by_write[id(item.writes[0][0])]
            item.result.published = True
        return len(writes)


class _Schedule:
    """Builds the selection with up to ``settings.parallel_models`` models at a time.

    A model starts once everything it waits for (:meth:`Runner.waits_for`) is
    finished; it is skipped when something it depends on failed. Progress lines
    come in the order models finish; results keep the selection's order. Several
    models at once keep both cores of a laptop busy: one model's driver-side work
    (planning, code generation, commits, small jobs) overlaps the others' tasks
    (three at a time measured about 5% faster than two on 2 cores).

    Among the models ready to start, the one heading the heaviest chain of work
    still to come starts first (critical path first): a model's weight is the
    size of the raw exports it is built from, and its priority adds the largest
    priority among the models that wait for it. The usage events, by far the
    largest export, thus start as soon as their accounts are staged, instead of
    after every smaller staging model ahead of them in the selection order.
    """

    def __init__(self, runner: Runner, selection: list[Model]) -> None:
        self.runner = runner
        self.selection = selection
        self.selected = {m.name for m in selection}
        self.results: dict[str, ModelResult] = {}
        self.staged: list[Staged] = []
        width = max(len(f"{m.layer}.{m.name}") for m in selection)
        self.labels = {m.name: f"{f'{m.layer}.{m.name}':<{width}}" for m in selection}
        self.priority = self.critical_path_priority()

    def critical_path_priority(self) -> dict[str, int]:
        """Each model's weight plus the largest priority among the selected models waiting for it."""
        priority: dict[str, int] = {}
        for model in reversed(self.selection):  # topological order: whoever waits for it is done
            waiting = [m.name for m in self.selection if model.name in self.runner.waits_for(m)]
            below = max((priority[name] for name in waiting), default=0)
            priority[model.name] = self.runner.upstream_bytes(model) + below
        return priority

    def run(self) -> None:
        workers = self.runner.settings.parallel_models
        waiting = list(self.selection)  # topological order
        running: dict[Future, Model] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="novacrm-model") as pool:
            try:
                while waiting or running:
                    skipped = self.start_ready(waiting, running, pool, workers)
                    if running:
                        finished, _ = wait(running, return_when=FIRST_COMPLETED)
                        for future in sorted(finished, key=lambda f: f.exception() is not None):
                            self.record(future.result())  # a build that raised is the last one taken
                            running.pop(future)
                    elif waiting and not skipped:  # cannot happen for a topologically ordered selection
                        raise RuntimeError(f"models {[m.name for m in waiting]} wait for models not selected")
            except BaseException:
                self.stop(running)
                raise

    def start_ready(self, waiting: list[Model], running: dict[Future, Model], pool: ThreadPoolExecutor,
                    workers: int) -> bool:
        """Start (or skip) every waiting model whose inputs are finished; True when one was skipped."""
        skipped = False
        for model in self.ready(waiting):
            if self.failed_upstream(model):
                self.report(model, ModelResult(model.name, model.layer, "skipped",
                                               message="an upstream model failed"), [])
                skipped = True
            elif len(running) < workers:
                running[pool.submit(self.runner.build_in_thread, model)] = model
            else:
                continue
            waiting.remove(model)
        return skipped

    def ready(self, waiting: list[Model]) -> list[Model]:
        """Models whose inputs are finished: highest priority first, then in selection order."""
        ready = [m for m in waiting if (self.runner.waits_for(m) & self.selected) <= self.results.keys()]
        return sorted(ready, key=lambda m: -self.priority[m.name])

    def failed_upstream(self, model: Model) -> bool:
        failed = {name for name, r in self.results.items() if r.status in ("error", "skipped")}
        return bool(failed & self.runner.depends_on(model))

    def record(self, item: Staged) -> None:
        model = self.runner.models[item.result.name]
        if item.result.status == "error":
            _abort(item.writes)  # never published, and nothing downstream will read it
        elif item.writes:
            self.runner.staged_tables[model.name] = item.writes[0][0].dataframe
            self.staged.append(item)
        self.report(model, item.result, _check_lines(item.result))

    def report(self, model: Model, result: ModelResult, lines: list[str]) -> None:
        self.results[model.name] = result
        counter = f"[{len(self.results):>2}/{len(self.selection)}]"
        text = "SKIP   (upstream failed)" if result.status == "skipped" else _line(result)
        self.runner.progress(f"{counter} {self.labels[model.name]}  {text}")
        for line in lines:
            self.runner.progress(f"      {line}")

    def stop(self, running: dict[Future, Model]) -> None:
        """After an exception: cancel the other models' Spark jobs, wait for them, discard their writes.

        (A build that raised has already discarded its own writes.)
        """
        for future in running:
            future.cancel()
        if any(not f.done() for f in running):
            self.runner.spark.interruptAll()
        wait(running)
        for future in running:
            if not future.cancelled() and future.exception() is None:
                _abort(future.result().writes)

    def staged_in_order(self) -> list[Staged]:
        """Staged writes in selection order, so tables are committed upstream first."""
        order = {m.name: index for index, m in enumerate(self.selection)}
        return sorted(self.staged, key=lambda item: order[item.result.name])


REASON_METRIC = "reason: "


def _reason_counts(contract: TableContract) -> list[Column]:
    """One count per reason the quarantine contract declares (its accepted_values check on ``reason``)."""
    declared = [c for c in contract.checks if c.kind == "accepted_values" and c.columns == ("reason",)]
    reasons = declared[0].values if declared else ()
    return [F.count_if(F.col("reason") == reason).alias(f"{REASON_METRIC}{reason}") for reason in reasons]


def _observed_reasons(metrics: dict[str, Any]) -> dict[str, int] | None:
    counts = {k[len(REASON_METRIC):]: int(v or 0) for k, v in metrics.items() if k.startswith(REASON_METRIC)}
    return counts or None


def _accepted_frame(output: DataFrame | StagingResult) -> DataFrame:
    """The frame a model's table is written from (a staging model's, with its bookkeeping columns)."""
    return output.accepted if isinstance(output, StagingResult) else output


def _quarantined_frame(output: StagingResult) -> DataFrame:
    """The frame a quarantine table is written from (with its collapsed copies)."""
    return output.quarantined


@dataclass
class SharedInput:
    """The validated frame a staging result's two outputs are filtered from, held while both are written.

    Held (``persist``, memory then disk), the raw file is parsed and validated
    once for both writes; :meth:`release` unpersists it. A model's table is
    not held: it is written once.

    Example::

        shared = SharedInput.hold(output)
        try:
            ...  # write output.accepted and output.quarantined
        finally:
            shared.release()
    """

    output: DataFrame | StagingResult
    _release: Callable[[], None] = field(default=lambda: None, repr=False)

    @classmethod
    def hold(cls, output: DataFrame | StagingResult) -> SharedInput:
        if not isinstance(output, StagingResult):
            return cls(output)
        held = output.validated.persist(StorageLevel.MEMORY_AND_DISK)
        return cls(output, lambda: held.unpersist())

    def release(self) -> None:
        self._release()


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
    q = result.quarantine
    if q:
        text += (f"  (file rows {q['source_rows']:,} = {q['staged_rows']:,} staged + {q['rows']:,} quarantined"
                 f" + {q['collapsed_rows']:,} identical copies collapsed")
        if q["rows"]:
            text += "; quarantined: " + ", ".join(f"{reason} {n}" for reason, n in q["by_reason"].items())
        text += ")"
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
        "watermark": result.watermark,
        "summary": {
            **{s: result.count(s) for s in ("pass", "warn", "error", "skipped")},
            "total": len(result.models),
            "checks": result.check_count(),
            "checks_failed": result.check_count("error"),
            "checks_warned": result.check_count("warn"),
        },
        "models": [asdict(m) for m in result.models],
    }


def new_run_id(loaded_at: dt.datetime) -> str:
    """``20250201T060000-1a2b3c4d``: the start time, then a random suffix."""
    return f"{loaded_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def run_pipeline(
    spark: SparkSession,
    settings: Settings,
    layer: str = "all",
    select: Iterable[str] = (),
    progress: Progress = print,
    loaded_at: dt.datetime | None = None,
    contracts: Contracts | None = None,
    incremental: bool = False,
    run_id: str | None = None,
) -> RunResult:
    """Build the selected models into ``settings.warehouse`` and report how it went.

    ``incremental`` reads only the raw usage files after the recorded watermark
    and replaces only the event months they touch (see :mod:`novacrm_spark.incremental`).
    """
    loaded_at = loaded_at or start_timestamp()
    keep_observed_metrics(spark)
    store = open_store(spark, settings.warehouse, settings.engine)
    runner = Runner(spark, settings, store, loaded_at, progress, contracts, incremental)
    selection = select_models(runner.models, layer, select)
    run_id = run_id or new_run_id(loaded_at)
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
