"""``python tests/killed_run.py POINT ARGS...``: ``novacrm ARGS``, SIGKILLed (with its JVM) at POINT.

A real kill at a chosen moment of publishing, which polling from outside
cannot hit: ``between-commits`` (after the run's second table commit: the
third commit, the first being the "publishing" manifest) or
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


def kill_after_commits(count: int) -> None:
    commit, done = StagedWrite.commit, []

    def commit_then_die(self: StagedWrite) -> int:
        version = commit(self)
        done.append(version)
        if len(done) == count:
            die()
        return version

    StagedWrite.commit = commit_then_die


def kill_before_complete_manifest() -> None:
    write_manifest = publish.write_manifest

    def die_before_complete(store, manifest):
        if manifest.status == "complete":
            die()
        return write_manifest(store, manifest)

    publish.write_manifest = die_before_complete


if __name__ == "__main__":
    point, args = sys.argv[1], sys.argv[2:]
    {"between-commits": lambda: kill_after_commits(3), "after-last-commit": kill_before_complete_manifest}[point]()
    from novacrm_spark.cli import main

    main(args)
