"""Every data row of every raw file is accounted for, and empty sources end the run normally.

rows in the file = staged + quarantined + identical copies collapsed, on generated
dirty data; a header-only file is a valid empty source on a full build and an
incremental one; the wait for a write's metrics is bounded.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from novacrm_spark import metrics as metrics_module
from novacrm_spark.cli import main
from novacrm_spark.config import Settings
from novacrm_spark.metrics import EMPTY_RELATION_RULE, EXCLUDED_RULES, keep_observed_metrics, wait_for_metrics
from novacrm_spark.run.runner import run_pipeline
from novacrm_spark.sources import SOURCES

LOADED_AT = dt.datetime(2025, 2, 1, 6)
STAGING = {f"stg_{source}": source for source in SOURCES}
# Hand-written records the generator never writes: quoted line breaks, and the wrong number of fields.
EXTRA_RECORDS = {
    "accounts": ['ACC-9001,"Acme, Inc\nEMEA",software,40,growth,Ana,europe,2024-01-10,active',
                 "ACC-9002,Too Short,software"],
    "usage_events": ['EVT-X1,ACC-0001,U1,api_call,2024-06-01T10:00:00,"{""a"": 1,\n ""b"": 2}",extra'],
    "invoices": ["INV-X1,ACC-0001,2024-02-10,149.00,USD,paid,novacrm_platform,one,two"],
}


def settings(input_dir: Path, warehouse: Path, **extra) -> Settings:
    return Settings(master="local[2]", shuffle_partitions=2, engine="embedded", input_dir=str(input_dir),
                    warehouse=str(warehouse), as_of_date=dt.date(2025, 1, 31), **extra)


def data_rows(path: Path) -> int:
    """Records after the header, by Python's own CSV reader (a blank line is no record)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for record in csv.reader(handle) if record) - 1


def run_to_the_end(call, seconds: float = 900):
    """Run ``call`` in a thread: a run that never ends fails the test instead of hanging it."""
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the run did not end"
    return box["result"]


@pytest.fixture(scope="module")
def dirty_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("accounting")
    raw = root / "raw"
    done = CliRunner().invoke(main, ["generate", "--accounts", "40", "--seed", "5", "--dirty-rate", "0.03",
                                     "--out", str(raw)])
    assert done.exit_code == 0, done.output
    for source, records in EXTRA_RECORDS.items():
        with (raw / SOURCES[source].file_name).open("a", encoding="utf-8", newline="") as handle:
            handle.write("\n".join(records) + "\n")
    lines: list[str] = []
    result = run_pipeline(spark, settings(raw, root / "warehouse", max_quarantine_fraction=1.0), layer="staging",
                          progress=lines.append, loaded_at=LOADED_AT)
    payload = json.loads(Path(result.results_path).read_text(encoding="utf-8"))
    return raw, result, lines, payload


def test_rows_in_each_file_are_staged_quarantined_or_collapsed(dirty_run):
    raw, result, _lines, _payload = dirty_run
    assert result.ok, result.summary()
    collapsed = {}
    for model in result.models:
        counts = model.quarantine
        in_file = data_rows(raw / SOURCES[STAGING[model.name]].file_name)
        assert counts["source_rows"] == in_file, model.name
        assert counts["staged_rows"] + counts["rows"] + counts["collapsed_rows"] == in_file, model.name
        assert counts["staged_rows"] == model.rows, model.name
        assert counts["fraction"] == round(counts["rows"] / in_file, 6), model.name
        collapsed[model.name] = counts["collapsed_rows"]
    # The generator's dirt holds identical copies in every child file; accounts get at least one too.
    assert all(collapsed.values()), collapsed


def test_wrong_widths_are_quarantined_with_their_reason(dirty_run):
    _raw, result, _lines, _payload = dirty_run
    by_reason = {m.name: m.quarantine["by_reason"] for m in result.models}
    assert by_reason["stg_accounts"]["wrong number of fields (3, expected 9)"] == 1
    assert by_reason["stg_usage_events"]["wrong number of fields (7, expected 6)"] == 1
    assert by_reason["stg_invoices"]["wrong number of fields (9, expected 7)"] == 1
    # The documented pattern: the contract's reason check does not warn about them.
    reason_checks = [c for m in result.models for c in m.checks if c["name"] == "accepted_values(reason)"]
    assert len(reason_checks) == 5 and all(c["status"] == "pass" for c in reason_checks)


def test_progress_lines_and_run_results_carry_the_same_counts(dirty_run):
    _raw, result, lines, payload = dirty_run
    for model, entry in zip(result.models, payload["models"]):
        counts = entry["quarantine"]
        assert counts == model.quarantine
        line = next(text for text in lines if f" END   staging.{model.name} " in text)
        assert (f"(file rows {counts['source_rows']:,} = {counts['staged_rows']:,} staged + "
                f"{counts['rows']:,} quarantined + {counts['collapsed_rows']:,} identical copies collapsed; ") in line


# --- header-only sources ----------------------------------------------------------------------


def header_only(folder: Path, usage_folder: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for source, spec in SOURCES.items():
        path = folder / spec.file_name
        if usage_folder and source == "usage_events":
            (folder / "raw_usage_events").mkdir()
            path = folder / "raw_usage_events" / "base.csv"
        path.write_text(",".join(spec.columns) + "\n", encoding="utf-8")
    return folder


def test_header_only_sources_build_every_layer_and_then_an_increment(spark, tmp_path):
    feed = header_only(tmp_path / "feed", usage_folder=True)
    os.utime(feed / "raw_usage_events" / "base.csv", (1_700_000_000, 1_700_000_000))
    warehouse = tmp_path / "warehouse"

    full = run_to_the_end(lambda: run_pipeline(spark, settings(feed, warehouse), progress=lambda _: None,
                                               loaded_at=LOADED_AT))

    assert full.ok, full.summary()
    assert len(full.models) == 16
    for model in full.models:
        assert model.rows == 0 or model.name in ("dim_date", "dim_product"), model.name
        assert model.checks, f"{model.name}: no check was evaluated"
        if model.layer == "staging":
            assert model.quarantine == {"rows": 0, "source_rows": 0, "staged_rows": 0, "collapsed_rows": 0,
                                        "fraction": 0.0, "by_reason": {}}

    day = feed / "raw_usage_events" / "2025-02-01.csv"
    day.write_text(",".join(SOURCES["usage_events"].columns) + "\n", encoding="utf-8")
    os.utime(day, (1_700_003_600, 1_700_003_600))
    increment = run_to_the_end(lambda: run_pipeline(
        spark, settings(feed, warehouse), select=["stg_usage_events+"], progress=lambda _: None,
        loaded_at=LOADED_AT, incremental=True,
    ))

    assert increment.ok, increment.summary()
    assert increment.watermark["incremental"] is True
    assert increment.watermark["files_read"] == ["2025-02-01.csv"]
    usage = next(m for m in increment.models if m.name == "stg_usage_events")
    assert usage.quarantine["source_rows"] == 0 and usage.checks


# --- the bounded wait for a write's metrics ------------------------------------------------------


class NeverObserved:
    """An observation whose metrics never arrive (what Spark did for an empty partitioned write)."""

    def __init__(self) -> None:
        self.released = threading.Event()

    @property
    def get(self):
        self.released.wait()
        return {}


def test_waiting_for_metrics_gives_up_and_says_so():
    never = NeverObserved()
    assert wait_for_metrics(never, seconds=0.05) is None
    never.released.set()

    class Observed:
        get = {"rows": 3}

    assert wait_for_metrics(Observed(), seconds=5) == {"rows": 3}


def test_the_empty_relation_rule_is_excluded_once_next_to_other_excluded_rules(spark):
    before = spark.conf.get(EXCLUDED_RULES, None)
    other = "com.example.SomeOtherRule"
    try:
        spark.conf.set(EXCLUDED_RULES, other)
        keep_observed_metrics(spark)
        keep_observed_metrics(spark)
        assert spark.conf.get(EXCLUDED_RULES) == f"{other},{EMPTY_RELATION_RULE}"
    finally:
        if before is None:
            spark.conf.unset(EXCLUDED_RULES)
        else:
            spark.conf.set(EXCLUDED_RULES, before)
        keep_observed_metrics(spark)


def test_metrics_that_never_arrive_are_counted_with_a_query(spark, tmp_path, monkeypatch, dirty_run):
    raw, observed_run, _lines, _payload = dirty_run
    monkeypatch.setattr(metrics_module, "wait_for_metrics", lambda observation: None)
    lines: list[str] = []

    result = run_pipeline(spark, settings(raw, tmp_path / "warehouse", max_quarantine_fraction=1.0),
                          select=["stg_accounts", "stg_invoices"], progress=lines.append, loaded_at=LOADED_AT)

    assert result.ok, result.summary()
    expected = {m.name: (m.quarantine, [(c["name"], c["failing_rows"]) for c in m.checks])
                for m in observed_run.models}
    for model in result.models:
        assert (model.quarantine, [(c["name"], c["failing_rows"]) for c in model.checks]) == expected[model.name]
    assert "staging.stg_invoices: the write's metrics did not arrive; counting them with a query" in lines
