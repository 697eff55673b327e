"""Vacuum every table of a warehouse, by retention only: the files no version of the last N hours needs.

Each Delta table of the warehouse is vacuumed with its engine's own vacuum:
delta-rs ``DeltaTable.vacuum(full=True)`` (embedded) or Delta's ``VACUUM``
(delta-spark). A file goes when no version of the last ``hours`` hours needs
it: removed from the table more than ``hours`` ago, or never committed (what a
failed write left) and older than that. The newest version's files always stay,
and so do scratch folders (``_staging``) and the log.

Readers pin the versions of the last complete run (the run manifest); those are
the tables' newest versions (vacuum's own commits aside), so their files stay.
A table whose pinned version has files that later commits removed (a run killed
while publishing, not yet repaired by the next run) is skipped, never vacuumed.
A table whose own ``delta.deletedFileRetentionDuration`` asks for more than
``hours`` is vacuumed with its own, longer window.

Tables: on a local warehouse, every Delta table in the layer folders and in
``_meta``/``_runs``; on object storage, the pipeline's own (every model's and
quarantine table, the run manifest and what it lists, the run results).

Example::

    >>> outcomes = vacuum_warehouse(store, hours=168, dry_run=True, progress=print)
    core.fct_usage: would remove 4 files (retain 168 hours)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import unquote

import pyarrow as pa
from deltalake import DeltaTable

from novacrm_spark.errors import NovaCrmError
from novacrm_spark.paths import is_local, local_path
from novacrm_spark.registry import all_models, table_names
from novacrm_spark.retention import table_window_hours
from novacrm_spark.run.records import TABLE as RESULTS
from novacrm_spark.store import TableStore
from novacrm_spark.store._errors import writing
from novacrm_spark.store.base import BOOKKEEPING_LAYERS, LAYERS, META_LAYER, TABLE_FOLDER
from novacrm_spark.store.manifest import MANIFEST, PublishedTables, Table

FOLDERS = (*LAYERS, *BOOKKEEPING_LAYERS)  # the order tables are vacuumed and listed in
# delta-spark's VACUUM commits nothing then: a run publishing meanwhile on object storage (no run lock there)
# finds its tables where it staged them. delta-rs has no such switch; it vacuums local folders under the run lock.
NO_VACUUM_COMMITS = {"spark.databricks.delta.vacuum.logging.enabled": "false"}


@dataclass
class Outcome:
    """What vacuum did (or, in a dry run, would do) to one table."""

    table: Table
    hours: int  # the retention it was vacuumed with
    own_window: bool = False  # the table's own delta.deletedFileRetentionDuration was longer than asked
    skipped: str | None = None  # why it was left alone
    files: list[str] = field(default_factory=list)  # removed, or that a dry run would remove

    def line(self, dry_run: bool) -> str:
        name = ".".join(self.table)
        if self.skipped is not None:
            return f"{name}: skipped: {self.skipped}"
        count = counted(len(self.files), "file")
        own = ", the table's own window" if self.own_window else ""  # its delta.deletedFileRetentionDuration
        return f"{name}: {'would remove' if dry_run else 'removed'} {count} (retain {self.hours} hours{own})"


def vacuum_warehouse(store: TableStore, hours: int, dry_run: bool, progress: Callable[[str], None]) -> list[Outcome]:
    """Vacuum every table of ``store`` keeping ``hours`` of history; one ``progress`` line a table
    (a dry run: then a line per file it would remove).

    Every table is looked at (pinned version, own window) before any file is removed.
    """
    published = PublishedTables(store)
    tables = warehouse_tables(store, published)
    if not tables:
        raise NovaCrmError(f"no Delta tables under {store.warehouse}: nothing to vacuum (check --warehouse)")
    outcomes = [plan(store, published, table, hours) for table in tables]
    if store.engine != "embedded":
        for key, value in NO_VACUUM_COMMITS.items():
            store.spark.conf.set(key, value)
    for outcome in outcomes:
        if outcome.skipped is None:
            path = store.table_path(*outcome.table)
            with writing(f"table {'.'.join(outcome.table)}", path, note=""):
                outcome.files = vacuum_table(store, path, outcome.hours, dry_run)
        progress(outcome.line(dry_run))
        if dry_run:
            for name in outcome.files:
                progress(f"  {name}")
    return outcomes


def total_line(outcomes: list[Outcome], dry_run: bool) -> str:
    """``Total: 23 files removed, 24 tables (1 skipped)``."""
    files = counted(sum(len(o.files) for o in outcomes), "file")
    skipped = sum(o.skipped is not None for o in outcomes)
    return (f"Total: {files} {'would be removed' if dry_run else 'removed'}, {counted(len(outcomes), 'table')}"
            + (f" ({skipped} skipped)" if skipped else ""))


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def warehouse_tables(store: TableStore, published: PublishedTables) -> list[Table]:
    """The Delta tables to vacuum, in layer order then by name."""
    candidates = set(table_names(all_models())) | {(META_LAYER, MANIFEST), RESULTS}
    if published.manifest is not None:
        candidates |= set(published.manifest.versions)
    if is_local(store.warehouse):
        root = Path(local_path(store.warehouse))
        folders = [p for layer in FOLDERS if (root / layer).is_dir() for p in (root / layer).iterdir()]
        candidates |= {(p.parent.name, p.name) for p in folders
                       if TABLE_FOLDER.fullmatch(p.name) and (p / "_delta_log").is_dir()}
    found = [t for t in candidates if t[0] in FOLDERS and store.exists(*t)]
    return sorted(found, key=lambda t: (FOLDERS.index(t[0]), t[1]))


def plan(store: TableStore, published: PublishedTables, table: Table, hours: int) -> Outcome:
    """The retention ``table`` is vacuumed with, or why it is skipped."""
    path = store.table_path(*table)
    own = table_window_hours(table_configuration(store, path))
    outcome = Outcome(table, max(hours, own), own_window=own > hours)
    # Readers read the version the manifest pins; a table it does not list, at its newest (nothing to check).
    pinned = published.manifest.versions.get(table) if published.manifest is not None else None
    if pinned is not None and pinned != store.version(*table):
        try:
            live = table_files(store, path, pinned) <= table_files(store, path, None)
        except Exception as exc:  # noqa: BLE001 - any failure to read the pinned version means: leave it alone
            outcome.skipped = f"readers are pinned to version {pinned}, which cannot be read ({type(exc).__name__})"
            return outcome
        if not live:
            outcome.skipped = (
                f"readers are pinned to version {pinned} and later commits removed some of its files "
                "(a run was interrupted while publishing); the next novacrm run repairs it"
            )
    return outcome


# --- each engine's own reads and vacuum ------------------------------------------------------


def table_configuration(store: TableStore, path: str) -> Mapping[str, str | None]:
    if store.engine == "embedded":
        return DeltaTable(path).metadata().configuration
    return dict(store.spark.sql(f"DESCRIBE DETAIL {sql_path(path)}").first()["properties"] or {})


def table_files(store: TableStore, path: str, version: int | None) -> set[str]:
    """The data files of the table's ``version`` (None: the newest)."""
    if store.engine == "embedded":
        return set(DeltaTable(path, version=version).file_uris())
    reader = store.spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return set(reader.load(path).inputFiles())


def vacuum_table(store: TableStore, path: str, hours: int, dry_run: bool) -> list[str]:
    """The files vacuum removed from the table (a dry run: would remove)."""
    if store.engine == "embedded":
        return _vacuum_embedded(path, hours, dry_run)
    listed = [row[0] for row in store.spark.sql(f"VACUUM {sql_path(path)} RETAIN {hours} HOURS DRY RUN").collect()]
    if listed and not dry_run:
        from delta.tables import DeltaTable as SparkDeltaTable

        SparkDeltaTable.forPath(store.spark, path).vacuum(float(hours))
    return listed


def _vacuum_embedded(path: str, hours: int, dry_run: bool) -> list[str]:
    """delta-rs's full vacuum, unless it would take a file the newest version references: it compares folder
    names with the log's URI-escaped paths, so a partition folder with an escaped character (``p=a%3Ab``)
    looks unreferenced (seen with deltalake 1.6). Then its lite vacuum, which only takes files the log
    removed. delta-rs also lists again the files of old removals it already deleted: only files still there
    count, and a table with none is left alone (a vacuum commits VACUUM START and END even for nothing)."""
    table = DeltaTable(path)
    live = {_plain(action["path"]) for action in pa.table(table.get_add_actions(flatten=False)).to_pylist()}
    options = {"retention_hours": hours, "enforce_retention_duration": True, "full": True}
    listed = table.vacuum(dry_run=True, **options)
    if any(_plain(name) in live for entry in listed for name in _names(path, entry)):
        options["full"] = False
        listed = table.vacuum(dry_run=True, **options)
    present = [f for f in listed if _on_disk(path, f) is not None]
    if dry_run or not present:
        return present
    table.vacuum(dry_run=False, **options)
    return [f for f in present if _on_disk(path, f) is None]


def _names(table_path: str, entry: str) -> set[str]:
    """What a file delta-rs lists may be called relative to the table: as listed, or URI-unescaped."""
    relative = os.path.relpath(entry, local_path(table_path)) if os.path.isabs(entry) else entry
    return {relative, unquote(relative)}


def _plain(name: str) -> str:
    """``name`` with every layer of URI escaping undone (delta-rs escapes a log path once more in places), so
    the same file compares equal however it is written. Two files can only look alike, never different."""
    while (unescaped := unquote(name)) != name:
        name = unescaped
    return name


def _on_disk(table_path: str, entry: str) -> str | None:
    found = [n for n in _names(table_path, entry) if os.path.exists(os.path.join(local_path(table_path), n))]
    return found[0] if found else None


def sql_path(path: str) -> str:
    return f"delta.`{path.replace('`', '``')}`"
