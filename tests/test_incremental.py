"""Incremental usage processing: day-by-day runs equal one full build; a failed run changes nothing.

The data: a small clean generated dataset whose usage export is split into a
folder ``raw_usage_events/``: ``base.csv`` (every event before the last three
event days) and one file per each of those days (the sample's last days are
2024-12-20, 2024-12-24 and 2025-01-01: increments touch an old month and open a
new one). File modification times increase in
the order the files "arrive".
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from novacrm_spark.config import Settings
from novacrm_spark.datagen import GeneratorConfig, generate
from novacrm_spark.errors import InputFileError
from novacrm_spark.incremental import CONFLICT_REASON, Watermark, merge_new_events, newer_files
from novacrm_spark.run.runner import run_pipeline
from novacrm_spark.sources import SOURCES, RawFile
from novacrm_spark.run.watermark import LEGACY_FILE, read_watermark
from novacrm_spark.run.watermark import TABLE as WATERMARK
from novacrm_spark.store import open_store
from novacrm_spark.store.manifest import Manifest, PublishedTables, read_manifest, write_manifest

AS_OF = dt.date(2025, 1, 2)
LOADED_AT = dt.datetime(2025, 1, 3, 6, 0, 0)
DAYS_IN_DATA = 3
USAGE_SELECTION = ["stg_usage_events+"]
USAGE_HEADER = list(SOURCES["usage_events"].columns)
COMPARED = [("staging", "stg_usage_events"), ("core", "fct_usage"), ("quarantine", "usage_events"),
            ("marts", "customer_health_scores")]


def split_usage(source: Path, folder: Path) -> tuple[list[str], dict[str, list[list[str]]]]:
    """Write ``base.csv`` and one file per each of the last event days; return the days and the rows by file."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    date_at = header.index("event_timestamp")
    days = sorted({row[date_at][:10] for row in body})[-DAYS_IN_DATA:]
    groups: dict[str, list[list[str]]] = {"base": [], **{day: [] for day in days}}
    for row in body:
        day = row[date_at][:10]
        groups[day if day in days else "base"].append(row)
    # A re-delivered identical copy of an already published event: dropped, in both build modes.
    groups[days[1]].append(groups["base"][0])
    folder.mkdir()
    for name, group in groups.items():
        write_csv(folder / f"{name}.csv", header, group)
    return days, groups


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])


def arrive(path: Path, order: int) -> None:
    """Give the file a modification time after every file that arrived before it."""
    stamp = 1_700_000_000 + order * 3600
    os.utime(path, (stamp, stamp))


def settings_for(input_dir: Path, warehouse: Path, **extra) -> Settings:
    return Settings(
        master="local[2]", input_dir=str(input_dir), warehouse=str(warehouse), as_of_date=AS_OF,
        shuffle_partitions=2, engine="embedded", **extra,
    )


def run(spark, input_dir, warehouse, incremental=False, select=(), **extra):
    # Every run has the last day's as-of date while the usage files arrive day by day: until the last
    # one, usage is days older than its freshness limit allows, so the runs allow stale sources.
    return run_pipeline(
        spark, settings_for(input_dir, warehouse, **extra), select=select, progress=lambda line: None,
        loaded_at=LOADED_AT, incremental=incremental, allow_stale=True,
    )


def table(spark, warehouse, layer, name):
    df = open_store(spark, str(warehouse), "embedded").read(layer, name)
    return df.drop("scored_at") if name == "customer_health_scores" else df


def versions(spark, warehouse) -> dict[str, int | None]:
    store = open_store(spark, str(warehouse), "embedded")
    return {f"{layer}.{name}": store.version(layer, name) for layer, name in COMPARED}


def watermark_of(spark, warehouse: Path) -> dict | None:
    """The watermark the next run starts from: the table _meta/usage_watermark as the run manifest pins it."""
    mark = read_watermark(PublishedTables(open_store(spark, str(warehouse), "embedded")))
    return mark.as_dict() if mark is not None else None


@pytest.fixture(scope="module")
def day_by_day(spark, tmp_path_factory):
    """A full build up to 2024-12-30, then one incremental run per day; and one full build of everything."""
    root = tmp_path_factory.mktemp("incremental")
    raw = root / "raw"
    generate(GeneratorConfig(accounts=20, seed=3, dirty_rate=0, as_of=AS_OF), str(raw))
    feed = root / "feed"
    feed.mkdir()
    for export in raw.glob("raw_*.csv"):
        if export.name != "raw_usage_events.csv":
            shutil.copy(export, feed / export.name)
    staging = root / "incoming"
    days, groups = split_usage(raw / "raw_usage_events.csv", staging)
    usage = feed / "raw_usage_events"
    usage.mkdir()
    shutil.move(staging / "base.csv", usage / "base.csv")
    arrive(usage / "base.csv", 0)

    warehouse = root / "incremental_wh"
    runs = [run(spark, feed, warehouse)]  # the first build is a full one and records the watermark
    watermarks = [watermark_of(spark, warehouse)]
    for order, day in enumerate(days, start=1):
        shutil.move(staging / f"{day}.csv", usage / f"{day}.csv")
        arrive(usage / f"{day}.csv", order)
        runs.append(run(spark, feed, warehouse, incremental=True, select=USAGE_SELECTION))
        watermarks.append(watermark_of(spark, warehouse))

    full_warehouse = root / "full_wh"
    full = run(spark, feed, full_warehouse)
    return {"feed": feed, "warehouse": warehouse, "full_warehouse": full_warehouse, "runs": runs,
            "full": full, "watermarks": watermarks, "groups": groups, "days": days}


def test_day_by_day_incremental_runs_equal_one_full_build(spark, day_by_day):
    assert all(r.ok for r in day_by_day["runs"]), [r.summary() for r in day_by_day["runs"]]
    assert day_by_day["full"].ok, day_by_day["full"].summary()
    for layer, name in COMPARED:
        incremental = table(spark, day_by_day["warehouse"], layer, name)
        full = table(spark, day_by_day["full_warehouse"], layer, name)
        assert incremental.count() > 0 or layer == "quarantine", name
        assert_df_equality(incremental, full, ignore_row_order=True, ignore_nullable=True)


def test_each_increment_replaces_only_the_months_its_day_touches(day_by_day):
    days = day_by_day["days"]
    replaced = [r.watermark["replaced_months"] for r in day_by_day["runs"][1:]]
    assert replaced == [[f"{d[:7]}-01"] for d in days]
    assert len({months[0] for months in replaced}) == 2  # an old month rewritten, and a new one opened
    assert [r.watermark["files_read"] for r in day_by_day["runs"][1:]] == [[f"{d}.csv"] for d in days]
    assert day_by_day["runs"][0].watermark["incremental"] is False
    assert all(r.watermark["incremental"] for r in day_by_day["runs"][1:])


def test_each_increment_accounts_for_every_row_of_its_new_file(day_by_day):
    for run_, day in zip(day_by_day["runs"][1:], day_by_day["days"]):
        usage = next(m for m in run_.models if m.name == "stg_usage_events")
        in_file = len(day_by_day["groups"][day])
        # Clean data: the only identical copy is the re-delivered published event on the second day.
        copies = 1 if day == day_by_day["days"][1] else 0
        assert usage.quarantine == {
            "rows": 0, "source_rows": in_file, "staged_rows": in_file - copies, "collapsed_rows": copies,
            "fraction": 0.0, "by_reason": {},
        }, day


def test_the_watermark_follows_the_last_file_and_is_in_run_results(day_by_day):
    names = [w["name"] for w in day_by_day["watermarks"]]
    assert names == ["base.csv", *[f"{d}.csv" for d in day_by_day["days"]]]
    times = [w["modification_time"] for w in day_by_day["watermarks"]]
    assert times == sorted(times) and len(set(times)) == 4
    last = day_by_day["runs"][-1]
    results = json.loads(Path(last.results_path).read_text(encoding="utf-8"))
    assert results["watermark"]["watermark"] == day_by_day["watermarks"][-1]
    assert results["watermark"]["previous"] == day_by_day["watermarks"][-2]


def test_the_watermark_is_a_table_published_with_the_usage_tables(spark, day_by_day):
    from deltalake import DeltaTable

    warehouse = day_by_day["warehouse"]
    path = str(warehouse.joinpath(*WATERMARK))
    # One version per run, each committed in the run's publish (so the run manifest pins it).
    history = [DeltaTable(path, version=v).to_pyarrow_table().to_pylist() for v in range(4)]
    assert history == [[mark] for mark in day_by_day["watermarks"]]
    manifest = read_manifest(open_store(spark, str(warehouse), "embedded"))
    assert manifest.versions[WATERMARK] == 3 == DeltaTable(path).version()
    assert not (warehouse / "_state").exists()


def test_every_run_adds_one_row_per_model_to_the_results_table(day_by_day):
    from deltalake import DeltaTable

    path = str(day_by_day["warehouse"] / "_runs" / "results")
    rows = DeltaTable(path).to_pandas()
    runs = day_by_day["runs"]
    assert sorted(rows["run_id"].unique()) == sorted(r.run_id for r in runs) and len(runs) == 4
    for result in runs:
        mine = rows[rows["run_id"] == result.run_id]
        assert dict(zip(mine["model"], mine["version"].map(lambda v: None if pd.isna(v) else int(v)))) == {
            m.name: m.version for m in result.models}
        assert set(mine["status"]) <= {"pass", "warn"} and set(mine["engine"]) == {"embedded"}
    # One commit per run, rewriting no other run's rows: version 0 holds the first run only.
    assert DeltaTable(path).version() == 3
    assert set(DeltaTable(path, version=0).to_pandas()["run_id"]) == {runs[0].run_id}


def test_a_legacy_watermark_file_is_read_once_then_the_table_replaces_it(spark, day_by_day, tmp_path):
    feed, warehouse = copy_of(day_by_day, tmp_path)
    store = open_store(spark, str(warehouse), "embedded")
    # A warehouse from before the table: the watermark in _state/usage_watermark.json, no table in the manifest.
    manifest = read_manifest(store)
    write_manifest(store, Manifest(manifest.run_id, manifest.status,
                                   {t: v for t, v in manifest.versions.items() if t != WATERMARK}, {}))
    shutil.rmtree(warehouse.joinpath(*WATERMARK))
    legacy = day_by_day["watermarks"][-1]
    (warehouse / LEGACY_FILE).parent.mkdir()
    (warehouse / LEGACY_FILE).write_text(json.dumps(legacy), encoding="utf-8")
    before = versions(spark, warehouse)

    result = run(spark, feed, warehouse, incremental=True, select=["stg_usage_events", "fct_usage"])
    assert result.ok, result.summary()
    assert result.watermark["previous"] == legacy and result.watermark["files_read"] == []  # no new file
    assert versions(spark, warehouse) == before
    assert watermark_of(spark, warehouse) == legacy  # now from the table
    assert not (warehouse / "_state").exists()


def test_the_usage_tables_are_partitioned_by_event_month(spark, day_by_day):
    from deltalake import DeltaTable

    for layer, name in COMPARED[:2]:
        path = day_by_day["warehouse"] / layer / name
        assert DeltaTable(str(path)).metadata().partition_columns == ["event_month"]
        assert (path / f"event_month={day_by_day['days'][-1][:7]}-01").is_dir()
        df = table(spark, day_by_day["warehouse"], layer, name)
        assert df.columns[-1] == "event_month"
        assert df.where(F.col("event_month") != F.trunc("event_date", "month")).count() == 0


def copy_of(day_by_day, tmp_path) -> tuple[Path, Path]:
    feed, warehouse = tmp_path / "feed", tmp_path / "wh"
    shutil.copytree(day_by_day["feed"], feed)
    shutil.copytree(day_by_day["warehouse"], warehouse)
    return feed, warehouse


def test_a_new_file_with_a_bad_header_changes_nothing(spark, day_by_day, tmp_path):
    feed, warehouse = copy_of(day_by_day, tmp_path)
    before, mark = versions(spark, warehouse), watermark_of(spark, warehouse)
    bad = feed / "raw_usage_events" / "2025-01-03.csv"
    bad.write_text("event_id,account_id,user,event_name,event_timestamp,properties\n", encoding="utf-8")
    arrive(bad, 10)
    with pytest.raises(InputFileError, match="2025-01-03.csv: missing column"):
        run(spark, feed, warehouse, incremental=True, select=USAGE_SELECTION)
    assert versions(spark, warehouse) == before
    assert watermark_of(spark, warehouse) == mark


def conflicting_copy(day_by_day, feed: Path) -> tuple[list[str], Path]:
    """A new file re-delivering a published event with a different user_id."""
    published = day_by_day["groups"][day_by_day["days"][0]][0]
    changed = list(published)
    changed[2] = "someone_else"
    path = feed / "raw_usage_events" / "2025-01-03.csv"
    write_csv(path, USAGE_HEADER, [changed])
    arrive(path, 10)
    return published, path


def test_a_failed_check_from_a_conflicting_event_changes_nothing(spark, day_by_day, tmp_path):
    feed, warehouse = copy_of(day_by_day, tmp_path)
    before, mark = versions(spark, warehouse), watermark_of(spark, warehouse)
    conflicting_copy(day_by_day, feed)
    result = run(spark, feed, warehouse, incremental=True, select=USAGE_SELECTION)
    assert not result.ok  # 1 of 1 new rows quarantined: over the 5% threshold
    stg = next(m for m in result.models if m.name == "stg_usage_events")
    assert stg.quarantine["by_reason"] == {CONFLICT_REASON: 1}
    assert versions(spark, warehouse) == before
    assert watermark_of(spark, warehouse) == mark


def test_a_conflicting_event_is_quarantined_and_the_published_row_stays(spark, day_by_day, tmp_path):
    feed, warehouse = copy_of(day_by_day, tmp_path)
    published, _ = conflicting_copy(day_by_day, feed)
    before = table(spark, warehouse, "staging", "stg_usage_events")
    before_rows = sorted(map(tuple, before.drop("_loaded_at").collect()))
    result = run(spark, feed, warehouse, incremental=True, select=USAGE_SELECTION, max_quarantine_fraction=1.0)
    assert result.ok, result.summary()
    after = table(spark, warehouse, "staging", "stg_usage_events")
    assert sorted(map(tuple, after.drop("_loaded_at").collect())) == before_rows
    quarantined = table(spark, warehouse, "quarantine", "usage_events").where(F.col("event_id") == published[0])
    assert [(r.user_id, r.reason) for r in quarantined.collect()] == [("someone_else", CONFLICT_REASON)]
    assert watermark_of(spark, warehouse)["name"] == "2025-01-03.csv"


def test_an_incremental_run_without_new_files_publishes_nothing_new(spark, day_by_day, tmp_path):
    feed, warehouse = copy_of(day_by_day, tmp_path)
    before, mark = versions(spark, warehouse), watermark_of(spark, warehouse)
    result = run(spark, feed, warehouse, incremental=True, select=["stg_usage_events", "fct_usage"])
    assert result.ok, result.summary()
    assert versions(spark, warehouse) == before
    assert watermark_of(spark, warehouse) == mark


def test_a_staging_only_rebuild_clears_the_watermark_so_fct_usage_catches_up(spark, day_by_day, tmp_path):
    feed, warehouse = copy_of(day_by_day, tmp_path)
    # A new day's file arrives, but only the staging layer is rebuilt (in full).
    event = list(day_by_day["groups"][day_by_day["days"][-1]][0])
    event[0] = "EVT-LATE-0001"
    path = feed / "raw_usage_events" / "late.csv"
    write_csv(path, USAGE_HEADER, [event])
    arrive(path, 20)

    staging_only = run(spark, feed, warehouse, select=["stg_usage_events"])
    assert staging_only.ok, staging_only.summary()
    assert watermark_of(spark, warehouse) is None  # fct_usage lags behind the published events
    assert staging_only.watermark["watermark"] is None

    caught_up = run(spark, feed, warehouse, incremental=True, select=USAGE_SELECTION)
    assert caught_up.ok, caught_up.summary()
    assert caught_up.watermark["incremental"] is False  # built in full, as there was no watermark
    assert watermark_of(spark, warehouse)["name"] == "late.csv"
    events = table(spark, warehouse, "staging", "stg_usage_events").count()
    counted = table(spark, warehouse, "core", "fct_usage").agg(F.sum("total_events")).first()[0]
    assert counted == events == table(spark, day_by_day["full_warehouse"], "staging", "stg_usage_events").count() + 1


def test_newer_files_orders_by_modification_time_then_name():
    files = [RawFile(1000, "a.csv", "/x/a.csv"), RawFile(1000, "c.csv", "/x/c.csv"), RawFile(2000, "a.csv", "/y/a.csv"),
             RawFile(500, "z.csv", "/x/z.csv")]
    assert newer_files(files, Watermark(1000, "b.csv")) == [files[1], files[2]]
    assert newer_files(files, None) == sorted(files)
    assert Watermark.of(files) == Watermark(2000, "a.csv")


def test_merge_new_events_drops_identical_copies_and_flags_conflicts(spark):
    schema = "event_id string, account_id string, user_id string, event_name string, event_timestamp timestamp"
    t = dt.datetime(2024, 3, 1, 9, 0)
    published = spark.createDataFrame([("e1", "a1", "u1", "login", t), ("e2", "a1", "u1", "login", t)], schema)
    new = spark.createDataFrame(
        [("e1", "a1", "u1", "login", t), ("e2", "a1", "u9", "login", t), ("e3", "a1", None, "login", t)], schema
    )
    to_add, conflicting = merge_new_events(published, new)
    assert_df_equality(to_add, new.where("event_id = 'e3'"), ignore_row_order=True)
    assert [r.event_id for r in conflicting.collect()] == ["e2"]
