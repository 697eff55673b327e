"""Files no Delta version references: what killed or failed runs leave in table folders.

A write stages its Parquet files in ``<table>/_staging/<write id>/`` and moves
them into the table folder just before its commit; a run killed in between
leaves files that no version of the table's log names. The next run removes
them while it holds the run lock, before it writes anything: no writer is
active then, and readers only ever read files that a committed version names,
so nothing removed here can be needed by anyone. Only Parquet files and
``_staging`` folders are touched; files of older versions stay for time travel.

Example::

    >>> remove_orphans("warehouse")        # after a run was killed while publishing
    37
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote

import pyarrow.parquet as pq

from novacrm_spark.run.records import TABLE as RESULTS
from novacrm_spark.store.base import LAYERS, META_LAYER

LOG = "_delta_log"
SCRATCH = "_staging"


def referenced_files(table: Path) -> set[str]:
    """Paths (relative to ``table``) that any commit or checkpoint in its log adds or removes."""
    found: set[str] = set()
    for entry in (table / LOG).iterdir():
        if entry.name.endswith(".json"):
            for line in entry.read_text(encoding="utf-8").splitlines():
                action = json.loads(line) if line.strip() else {}
                for kind in ("add", "remove"):
                    if kind in action:
                        found.add(unquote(action[kind]["path"]))
        elif ".checkpoint" in entry.name and entry.name.endswith(".parquet"):
            columns = [c for c in ("add", "remove") if c in pq.read_schema(entry).names]
            for row in pq.read_table(entry, columns=columns).to_pylist():
                found.update(unquote(row[c]["path"]) for c in columns if row[c])
    return found


def orphan_files(table: Path) -> list[Path]:
    """Parquet files and staging folders of ``table`` that no version references (a table never committed: all).

    Only files newer than the newest log entry can be orphans (a commit comes
    after its files), so a clean table costs a listing, not a read of its log.
    """
    log = table / LOG
    newest_commit = max((entry.stat().st_mtime_ns for entry in log.iterdir()), default=-1) if log.is_dir() else -1
    orphans = [table / SCRATCH] if (table / SCRATCH).exists() else []
    candidates = []
    for folder, dirs, names in os.walk(table):
        dirs[:] = [d for d in dirs if d not in (LOG, SCRATCH)]
        candidates += [Path(folder) / n for n in names if n.endswith(".parquet")]
    candidates = [path for path in candidates if path.stat().st_mtime_ns > newest_commit]
    if candidates:
        referenced = referenced_files(table) if log.is_dir() else set()
        orphans += [path for path in candidates if str(path.relative_to(table)) not in referenced]
    return sorted(orphans)


def remove_orphans(warehouse: str) -> int:
    """Remove every table's orphans (local warehouses); returns how many files and folders went."""
    removed = 0
    for table in table_folders(Path(warehouse.removeprefix("file://"))):
        for path in orphan_files(table):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            removed += 1
        _remove_empty_folders(table)
        if not (table / LOG).exists() and not any(table.iterdir()):
            table.rmdir()  # a table whose first write never committed
    return removed


def table_folders(root: Path) -> list[Path]:
    """The folders that are (or were being made) tables: every folder of a layer or of ``_meta``, and
    ``_runs/results`` (``_runs``' other folders hold each run's run_results.json)."""
    folders = [table for layer in (*LAYERS, META_LAYER) if (root / layer).is_dir()
               for table in sorted(p for p in (root / layer).iterdir() if p.is_dir())]
    results = root.joinpath(*RESULTS)
    return [*folders, results] if results.is_dir() else folders


def _remove_empty_folders(table: Path) -> None:
    for folder, _dirs, _names in sorted(os.walk(table), key=lambda walked: -len(walked[0])):
        if Path(folder) != table and not os.listdir(folder):
            os.rmdir(folder)
