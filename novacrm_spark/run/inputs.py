"""What a run's models read: raw exports (checked first) and tables, staged in this run or published.

Example::

    >>> inputs = RunInputs(spark, settings.input_dir, models, PublishedTables(store))
    >>> inputs.check(selection)                 # a bad raw file stops the run here
    {'accounts': '/data/raw/raw_accounts.csv', ...}
    >>> inputs.frame("stg_accounts")            # staged by this run, else the published version
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from pyspark.sql import DataFrame, SparkSession

from novacrm_spark import incremental as inc
from novacrm_spark.registry import Model
from novacrm_spark.run.incremental import UsageIncrement
from novacrm_spark.source_checks import check_raw_file
from novacrm_spark.sources import Export, RawFile, list_exports, read_raw
from novacrm_spark.store.manifest import PublishedTables


@dataclass
class RunInputs:
    spark: SparkSession
    input_dir: str
    models: Mapping[str, Model]
    published: PublishedTables  # the upstreams this run does not rebuild, as readers see them
    staged: dict[str, DataFrame] = field(default_factory=dict)  # this run's staged tables, by model
    usage_files: list[RawFile] | None = None  # every raw usage file, or an increment's
    exports: dict[str, Export] = field(default_factory=dict)  # listed once, by check()

    def check(self, selection: Iterable[Model], increment: UsageIncrement | None = None) -> dict[str, str]:
        """Fail before anything is written when a raw file the selection reads is bad; their locations."""
        sources = sorted({raw[len("raw_"):] for m in selection for raw in m.raw_inputs})
        if sources:
            self.exports = list_exports(self.spark, self.input_dir)
        for source in sources:
            files = self.exports[source].require_files()
            if source == inc.USAGE_SOURCE:
                files = self.usage_files = increment.select(files) if increment is not None else files
            check_raw_file(self.spark, self.input_dir, source, files)
        return {source: self.exports[source].location for source in sources}

    def table(self, name: str) -> DataFrame:
        """A model's table as this run sees it: staged in this run, else the published version."""
        return self.staged[name] if name in self.staged else self.published.read(self.models[name].layer, name)

    def frame(self, name: str) -> DataFrame:
        """An input by its parameter name: ``raw_<source>`` or a model's table."""
        if name.startswith("raw_"):
            source = name[len("raw_"):]
            files = self.usage_files if source == inc.USAGE_SOURCE else self.exports[source].require_files()
            return read_raw(self.spark, self.input_dir, source, files)
        return self.table(name)

    def label(self, name: str) -> str:
        """Where an input came from, for run_results.json."""
        if name.startswith("raw_"):
            return self.exports[name[len("raw_"):]].location
        return f"{self.models[name].layer}.{name} ({'staged in this run' if name in self.staged else 'published'})"

    def upstream_bytes(self, model: Model) -> int:
        """Bytes of the raw exports ``model`` is built from, directly or through other models:
        a rough measure of its work, for the scheduler's critical path."""
        sources: set[str] = set()
        pending = [model.name]
        while pending:
            current = self.models[pending.pop()]
            sources.update(raw[len("raw_"):] for raw in current.raw_inputs)
            pending.extend(current.model_inputs)
        return sum(self.exports[source].size for source in sources if source in self.exports)
