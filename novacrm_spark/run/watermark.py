"""The usage watermark as a Delta table, published with the usage tables it describes.

``<warehouse>/_meta/usage_watermark`` holds one row, the last raw usage file
processed (``modification_time long, name string``), or none once cleared. A run
that moves it stages its new version like any table write, and ``publish_run``
commits it between the run manifest's two commits. So the manifest covers it:
the next run reads it at the version the manifest pins, and a run killed while
publishing has it rolled forward or back with ``stg_usage_events`` and
``fct_usage``. It lives wherever the tables live, object storage included.

A warehouse from before this table kept the watermark in
``<warehouse>/_state/usage_watermark.json``: it is read while the table is not
published, and removed once a run has published the table.

Example::

    >>> read_watermark(PublishedTables(store))
    Watermark(modification_time=1706745600000, name='2024-01-31.csv')
"""

from __future__ import annotations

import json
import os

from novacrm_spark.frames import constant_frame
from novacrm_spark.incremental import Watermark
from novacrm_spark.paths import is_local, local_path
from novacrm_spark.store import StagedWrite, TableStore
from novacrm_spark.store.base import META_LAYER
from novacrm_spark.store.manifest import PublishedTables, Table

TABLE: Table = (META_LAYER, "usage_watermark")
SCHEMA = "modification_time long, name string"
DESCRIPTION = ("The last raw usage file an incremental run starts after (modification time in ms, file name); "
               "no row: none recorded. Published with the run's tables.")
LEGACY_FILE = os.path.join("_state", "usage_watermark.json")


def read_watermark(published: PublishedTables) -> Watermark | None:
    """The watermark of the last complete run: the table at its pinned version, else the legacy file."""
    if published.exists(*TABLE):
        rows = published.read_rows(*TABLE)
        return Watermark(int(rows[0]["modification_time"]), str(rows[0]["name"])) if rows else None
    return read_legacy_watermark(published.warehouse)


def stage_watermark(store: TableStore, watermark: Watermark | None) -> StagedWrite:
    """The table's next version, staged (``None``: no row, the watermark forgotten)."""
    rows = [(watermark.modification_time, watermark.name)] if watermark is not None else []
    return store.stage(constant_frame(store.spark, SCHEMA, rows), *TABLE, description=DESCRIPTION)


def read_legacy_watermark(warehouse: str) -> Watermark | None:
    path = _legacy_path(warehouse)
    if path is None or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return Watermark(int(data["modification_time"]), str(data["name"]))


def remove_legacy_watermark(warehouse: str) -> bool:
    """Remove the legacy file (and its folder, when empty); True when there was one."""
    path = _legacy_path(warehouse)
    if path is None or not os.path.isfile(path):
        return False
    os.remove(path)
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass  # something else lives there: not ours to remove
    return True


def _legacy_path(warehouse: str) -> str | None:
    return os.path.join(local_path(warehouse), LEGACY_FILE) if is_local(warehouse) else None
