"""Publishing a run as one unit for readers, and repairing a run that was killed while publishing.

Delta has no multi-table transactions. A run therefore brackets its table
commits with two commits of the run manifest (:mod:`novacrm_spark.store.manifest`):
``publishing`` (readers keep the previous run's versions; the planned version
of each commit is recorded), then the table commits, then ``complete``.
Readers pin to the manifest, so they see one complete run at every moment.

A run killed in between leaves a ``publishing`` manifest. The next run, under
the run lock and before it reads anything, repairs it:

* every planned commit landed (killed after the last one): roll forward, the
  manifest is completed with the planned versions;
* otherwise roll back: each table that moved past the version readers see is
  restored to it (a Delta RESTORE, one more commit), so tools reading the
  Delta folders directly see the same tables as our readers.

Example::

    >>> versions = publish_run(store, writes, run_id, known_tables)
    >>> recover(store, print)        # in the next run, after a kill
    'rolled back run 20250201T060000-1a2b3c4d: 2 table(s) restored'
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from novacrm_spark.run.audit import Built
from novacrm_spark.run.results import Progress
from novacrm_spark.store import StagedWrite, TableStore
from novacrm_spark.store.base import publish_lock
from novacrm_spark.store.manifest import (
    COMPLETE, PUBLISHING, ROLLED_BACK, Manifest, Table, current_pins, read_manifest, write_manifest,
)


def publish_run(
    store: TableStore, writes: Sequence[tuple[Table, StagedWrite]], run_id: str, known: Iterable[Table]
) -> list[int]:
    """Commit ``writes`` in order between a ``publishing`` and a ``complete`` manifest; returns their versions.

    Every write is checked against its table first, under the warehouse's
    publish lock: a conflict on any table publishes none. ``known``: the
    pipeline's tables, pinned at their latest versions when the warehouse has
    no manifest yet.
    """
    if not writes:
        return []
    with publish_lock(store.warehouse):
        for _table, write in writes:
            write.check()
        pins = current_pins(store, known)
        planned = {table: _next_version(store, table, write.commits) for table, write in writes}
        write_manifest(store, Manifest(run_id, PUBLISHING, {**{t: None for t in planned}, **pins}, planned))
        versions = [write.commit() for _table, write in writes]
        write_manifest(store, Manifest(run_id, COMPLETE, {**pins, **planned}, {}))
    return versions


def finish_run(
    store: TableStore, built: Sequence[Built], ok: bool, run_id: str, known: Iterable[Table],
    bookkeeping: Callable[[], list[tuple[Table, StagedWrite]]] = list,
) -> int:
    """Publish every staged write of ``built`` (upstream first) when the run is clean, else discard them all;
    returns how many model and quarantine tables were published, and sets each result's version.

    ``bookkeeping`` stages the run's own state (the usage watermark) when the run is clean: it is
    committed first, in the same :func:`publish_run`, so the manifest covers it too and a failure
    writing it leaves every table untouched.
    """
    if not ok:
        _abort(built)
        return 0
    extra: list[tuple[Table, StagedWrite]] = []
    try:
        extra = bookkeeping()
        writes = [w for item in built for w in item.writes]
        versions = publish_run(store, [*extra, *writes], run_id, known)[len(extra):]
    except BaseException:
        _abort(built, extra)  # the uncommitted ones; a committed write ignores abort
        raise
    by_write = {id(write): version for (_table, write), version in zip(writes, versions)}
    for item in built:
        if item.writes:
            item.result.version = by_write[id(item.writes[0][1])]
        item.result.published = True
    return len(writes)


def _abort(built: Sequence[Built], extra: Sequence[tuple[Table, StagedWrite]] = ()) -> None:
    for item in built:
        item.abort()
    for _table, write in extra:
        write.abort()


def _next_version(store: TableStore, table: Table, commits: int) -> int:
    latest = store.version(*table)
    return (-1 if latest is None else latest) + commits


def recover(store: TableStore, progress: Progress) -> str | None:
    """Repair a run that was killed while publishing; returns what was done (None: nothing to repair)."""
    manifest = read_manifest(store)
    if manifest is None or manifest.status != PUBLISHING:
        return None
    landed = {table: store.version(*table) for table in manifest.planned}
    if all(landed[t] == v for t, v in manifest.planned.items()):
        write_manifest(store, Manifest(manifest.run_id, COMPLETE, {**manifest.versions, **manifest.planned}, {}))
        done = f"rolled forward run {manifest.run_id}: all {len(landed)} of its table commits had landed"
    else:
        versions = dict(manifest.versions)
        restored = 0
        for table, latest in sorted(landed.items()):
            pinned = manifest.versions.get(table)
            if latest is not None and pinned is not None and latest != pinned:
                versions[table] = store.restore(*table, pinned)
                restored += 1
        write_manifest(store, Manifest(manifest.run_id, ROLLED_BACK, versions, {}))
        done = f"rolled back run {manifest.run_id}: {restored} table(s) restored to the last complete run's version"
    progress(f"Interrupted run found: {done}")
    return done
