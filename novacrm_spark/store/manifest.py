"""The run manifest: which version of each table belongs to the last complete run.

Delta commits one table at a time; a run publishes twenty. So a run records,
in a small Delta table of its own (``<warehouse>/_meta/run_manifest``, one
row per table), the version of every table that readers may see:

1. before its first table commit, a ``publishing`` manifest: the versions
   readers see stay those of the last complete run, and ``planned_version``
   names the version each of this run's commits will create;
2. after its last table commit, a ``complete`` manifest naming the new versions.

Each is one atomic Delta commit, so readers (``show``, ``sql``, ``serve``,
``report``, through :class:`PublishedTables`) see the tables of one complete
run whatever moment a run is killed at; the next run repairs a killed one
(:mod:`novacrm_spark.run.recovery`). A table the manifest lists with no
version was first created by an unfinished run: readers do not see it.
Tables the manifest does not list (placed by hand) are read at their latest
version, as is every table of a warehouse without a manifest.

Example::

    >>> published = PublishedTables(store)
    >>> published.version("marts", "nrr_summary")     # pinned by the last complete run
    3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from pyspark.sql import DataFrame

from novacrm_spark.errors import TableNotFoundError
from novacrm_spark.store.base import META_LAYER, TableStore

MANIFEST = "run_manifest"
# A rolled-back manifest pins the tables of the complete run before the one it names.
PUBLISHING, COMPLETE, ROLLED_BACK = "publishing", "complete", "rolled back"
SCHEMA = "layer string, table string, version long, planned_version long, run_id string, status string"
Table = tuple[str, str]


@dataclass(frozen=True)
class Manifest:
    run_id: str
    status: str
    versions: Mapping[Table, int | None]  # what readers see; None: not published yet
    planned: Mapping[Table, int]  # a publishing run's commits, table -> the version it creates

    def lists(self, layer: str, table: str) -> bool:
        return (layer, table) in self.versions


def read_manifest(store: TableStore) -> Manifest | None:
    """The warehouse's current manifest, or None when no run has written one."""
    if not store.exists(META_LAYER, MANIFEST):
        return None
    rows = store.read_rows(META_LAYER, MANIFEST)
    if not rows:
        return None
    versions = {(r["layer"], r["table"]): r["version"] for r in rows}
    planned = {(r["layer"], r["table"]): r["planned_version"] for r in rows if r["planned_version"] is not None}
    return Manifest(rows[0]["run_id"], rows[0]["status"], versions, planned)


def write_manifest(store: TableStore, manifest: Manifest) -> int:
    """Replace the manifest in one commit; returns its version."""
    rows = [
        (layer, table, manifest.versions.get((layer, table)), manifest.planned.get((layer, table)),
         manifest.run_id, manifest.status)
        for layer, table in sorted(set(manifest.versions) | set(manifest.planned))
    ]
    return store.overwrite_rows(rows, SCHEMA, META_LAYER, MANIFEST, description="The table versions readers see.")


def current_pins(store: TableStore, tables: Iterable[Table]) -> dict[Table, int | None]:
    """What readers see now: the manifest's versions, else (no manifest yet) each table's latest."""
    manifest = read_manifest(store)
    if manifest is not None:
        return dict(manifest.versions)
    return {t: store.version(*t) for t in tables if store.exists(*t)}


class PublishedTables:
    """A store as readers must see it: every table at the version of the last complete run.

    Offers what readers use of :class:`TableStore` (``exists``, ``version``,
    ``read``, ``table_path``, ``engine``, ``warehouse``); :meth:`refresh`
    re-reads the manifest (a long-lived server calls it before re-pointing views).
    """

    def __init__(self, store: TableStore) -> None:
        self.store = store
        self.manifest = read_manifest(store)

    @property
    def engine(self) -> str:
        return self.store.engine

    @property
    def warehouse(self) -> str:
        return self.store.warehouse

    def refresh(self) -> None:
        self.manifest = read_manifest(self.store)

    def table_path(self, layer: str, table: str) -> str:
        return self.store.table_path(layer, table)

    def version(self, layer: str, table: str) -> int | None:
        if self.manifest is not None and self.manifest.lists(layer, table):
            return self.manifest.versions[(layer, table)]
        return self.store.version(layer, table)

    def exists(self, layer: str, table: str) -> bool:
        return self.version(layer, table) is not None

    def read(self, layer: str, table: str, version: int | None = None) -> DataFrame:
        pinned = self.version(layer, table)
        if pinned is None:
            raise TableNotFoundError(
                f"table {layer}.{table} is not published in {self.warehouse}: no complete run built it yet"
            )
        return self.store.read(layer, table, pinned if version is None else version)

    def read_rows(self, layer: str, table: str) -> list[dict[str, Any]]:
        """A small bookkeeping table's rows at its published version (see :meth:`TableStore.read_rows`)."""
        pinned = self.version(layer, table)
        if pinned is None:
            raise TableNotFoundError(f"table {layer}.{table} is not published in {self.warehouse}")
        return self.store.read_rows(layer, table, pinned)
