"""``python tests/killed_run.py POINT ARGS...``: ``novacrm ARGS``, SIGKILLed (with its JVM) at POINT.

A real kill at a chosen moment of publishing, which polling from outside
cannot hit: ``between-commits`` (after the run's second table commit) or
``after-last-commit`` (every table committed, the manifest not yet completed).
Start it in a new session: the kill takes its whole process group.
"""

from __future__ import annotations

import os
import signal
import sys

from novacrm_spark.run import publish
from novacrm_spark.store.base import StagedWrite


def die() -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


def kill_after_table_commits(count: int) -> None:
    """Die right after the ``count``-th table commit (a manifest commit, on any engine, does not count)."""
    commit, write_manifest, done, in_manifest = StagedWrite.commit, publish.write_manifest, [], []

    def commit_then_die(self: StagedWrite) -> int:
        version = commit(self)
        done.extend([] if in_manifest else [version])
        if len(done) == count:
            die()
        return version

    def manifest_write(store, manifest):
        in_manifest.append(True)
        try:
            return write_manifest(store, manifest)
        finally:
            in_manifest.pop()

    StagedWrite.commit, publish.write_manifest = commit_then_die, manifest_write


def kill_before_complete_manifest() -> None:
    write_manifest = publish.write_manifest

    def die_before_complete(store, manifest):
        if manifest.status == "complete":
            die()
        return write_manifest(store, manifest)

    publish.write_manifest = die_before_complete


if __name__ == "__main__":
    point, args = sys.argv[1], sys.argv[2:]
    {"between-commits": lambda: kill_after_table_commits(2), "after-last-commit": kill_before_complete_manifest}[point]()
    from novacrm_spark.cli import main

    main(args)
