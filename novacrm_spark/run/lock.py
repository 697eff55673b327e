"""One run at a time per warehouse: ``<warehouse>/_run.lock``.

A run holds an exclusive ``flock`` on the file from before Spark starts until it
ends, and writes who it is into it (run id, host, pid, start time). A second run
fails at once, naming the holder. The kernel releases the lock when its process
dies, even by ``kill -9``, so a lock left by a dead run is simply free: the next
run takes it over and says whose it was. Readers (``show``, ``sql``, ``serve``,
``report``) never take it.

Local (and mounted) warehouses only: on object storage there is no file lock,
and Delta's commit check is the guard (see README, Engines).

Example::

    >>> with run_lock("warehouse", "20250201T060000-1a2b3c4d") as stale:
    ...     stale                      # the holder a dead run left behind, or None
"""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator

from novacrm_spark.errors import WarehouseBusyError
from novacrm_spark.store._errors import writing

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None

LOCK_FILE = "_run.lock"


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    started: str  # ISO timestamp, UTC

    def __str__(self) -> str:
        return f"run {self.run_id} (host {self.host}, pid {self.pid}, started {self.started})"


def lock_path(warehouse: str) -> str | None:
    """The lock file of a local warehouse; None on object storage."""
    if "://" in warehouse and not warehouse.startswith("file://"):
        return None
    return os.path.join(warehouse.removeprefix("file://"), LOCK_FILE)


@contextmanager
def run_lock(warehouse: str, run_id: str, started: str) -> Iterator[Holder | None]:
    """Hold the warehouse's run lock; yields the holder a dead run left in it (None if none).

    Raises :class:`WarehouseBusyError` naming the holder when a live run has it.
    """
    path = lock_path(warehouse)
    if path is None or fcntl is None:
        yield None
        return
    with writing("the run lock", path, note=""):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseBusyError(
                f"warehouse {warehouse} is in use by {_read_holder(handle) or 'another run'}; "
                "wait for it to finish (one run at a time per warehouse)"
            ) from None
        stale = _read_holder(handle)
        _write_holder(handle, Holder(run_id, socket.gethostname(), os.getpid(), started))
        try:
            yield stale
        finally:
            handle.truncate(0)  # released: nobody holds it (the kernel drops the flock on close)


def _read_holder(handle) -> Holder | None:
    handle.seek(0)
    try:
        return Holder(**json.loads(handle.read()))
    except (ValueError, TypeError):
        return None  # empty (free, or the holder has not written yet) or not ours


def _write_holder(handle, holder: Holder) -> None:
    handle.seek(0)
    handle.truncate(0)
    handle.write(json.dumps(asdict(holder)))
    handle.flush()
