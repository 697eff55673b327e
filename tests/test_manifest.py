"""The run manifest: what readers see, written and read by either engine's bookkeeping path."""

from __future__ import annotations

import pytest

from novacrm_spark.errors import TableNotFoundError
from novacrm_spark.store import open_store
from novacrm_spark.store.base import META_LAYER, TableStore
from novacrm_spark.store.manifest import (
    COMPLETE, MANIFEST, PUBLISHING, SCHEMA, Manifest, PublishedTables, read_manifest, write_manifest,
)


@pytest.fixture
def store(spark, tmp_path):
    store = open_store(spark, str(tmp_path / "wh"), "embedded")
    for version in range(3):  # versions 0, 1, 2 of one table; version 0 of another
        store.overwrite(spark.range(version + 1), "core", "t")
    store.overwrite(spark.range(5), "core", "by_hand")
    return store


def test_without_a_manifest_readers_see_the_latest_versions(store):
    published = PublishedTables(store)
    assert published.manifest is None
    assert published.version("core", "t") == 2 and published.read("core", "t").count() == 3


def test_readers_see_the_pinned_version_hide_unfinished_tables_and_read_others_at_their_latest(store, spark):
    store.overwrite(spark.range(9), "core", "new")  # created by a run that never completed
    write_manifest(store, Manifest("r1", PUBLISHING, {("core", "t"): 1, ("core", "new"): None},
                                   {("core", "t"): 3, ("core", "new"): 0}))
    published = PublishedTables(store)

    assert published.version("core", "t") == 1 and published.read("core", "t").count() == 2
    assert not published.exists("core", "new")
    with pytest.raises(TableNotFoundError, match="not published .*: no complete run built it yet"):
        published.read("core", "new")
    assert published.version("core", "by_hand") == 0  # not the pipeline's: its latest version

    write_manifest(store, Manifest("r2", COMPLETE, {("core", "t"): 2, ("core", "new"): 0}, {}))
    published.refresh()
    assert published.version("core", "t") == 2 and published.read("core", "new").count() == 9


def test_the_spark_bookkeeping_path_reads_and_writes_the_same_manifest(store):
    manifest = Manifest("r1", PUBLISHING, {("core", "t"): 1, ("core", "new"): None}, {("core", "new"): 0})
    write_manifest(store, manifest)  # delta-rs (embedded)
    assert read_manifest(store) == manifest
    rows = TableStore.read_rows(store, META_LAYER, MANIFEST)  # Spark (delta-spark's path)
    assert sorted(rows, key=lambda r: r["table"]) == [
        {"layer": "core", "table": "new", "version": None, "planned_version": 0, "run_id": "r1", "status": PUBLISHING},
        {"layer": "core", "table": "t", "version": 1, "planned_version": None, "run_id": "r1", "status": PUBLISHING},
    ]
    TableStore.overwrite_rows(store, [("core", "t", 2, None, "r2", COMPLETE)], SCHEMA, META_LAYER, MANIFEST)
    assert read_manifest(store) == Manifest("r2", COMPLETE, {("core", "t"): 2}, {})
