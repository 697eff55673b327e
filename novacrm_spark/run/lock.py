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

from novacrm_spark.errors import WarehouseBusyError, environment_problem
from novacrm_spark.paths import is_local, local_path

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
    return os.path.join(local_path(warehouse), LOCK_FILE) if is_local(warehouse) else None


@contextmanager
def run_lock(warehouse: str, run_id: str, started: str) -> Iterator[Holder | None]:
    """Hold the warehouse's run lock; yields the holder a dead run left in it (None if none).

    Raises :class:`WarehouseBusyError` naming the holder when a live run has it.
    A warehouse the lock cannot be written to (read-only, full, under a file)
    is left for the run's first write to report, naming the table. A warehouse
    folder made only for the lock is removed again, so a run that writes
    nothing (a bad input file) leaves nothing behind.
    """
    path = lock_path(warehouse)
    path = os.path.abspath(path) if path is not None else None
    made = _first_missing(os.path.dirname(path)) if path is not None else None
    handle = _open(path) if path is not None and fcntl is not None else None
    if handle is None:
        yield None
        return
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
            _write_holder(handle, None)  # released: nobody holds it (the kernel drops the flock on close)
            if made is not None and os.listdir(os.path.dirname(path)) == [LOCK_FILE]:
                _remove_made(path, made)


def _open(path: str):
    """The lock file, opened for writing when possible; None when it cannot even be created."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+b", buffering=0)
    except OSError as exc:
        if environment_problem(exc) is None:
            raise
    try:  # a read-only warehouse: an existing lock file still locks (flock needs no write access)
        return open(path, "rb", buffering=0)  # noqa: SIM115 - held while locked
    except OSError:
        return None


def _first_missing(folder: str) -> str | None:
    """The outermost missing folder on the way to ``folder`` (None when ``folder`` exists)."""
    missing = None
    while not os.path.exists(folder):
        missing, folder = folder, os.path.dirname(folder)
    return missing


def _remove_made(path: str, made: str) -> None:
    """Remove the lock file and the folders made for it, up to ``made``."""
    try:
        os.remove(path)
        folder = os.path.dirname(path)
        while True:
            os.rmdir(folder)
            if folder == made:
                break
            folder = os.path.dirname(folder)
    except OSError:
        pass  # something else appeared meanwhile: leave it


def _read_holder(handle) -> Holder | None:
    handle.seek(0)
    try:
        return Holder(**json.loads(handle.read().decode("utf-8")))
    except (ValueError, TypeError):
        return None  # empty (free, or the holder has not written yet) or not ours


def _write_holder(handle, holder: Holder | None) -> None:
    """Record (or, with None, clear) the holder; a lock that cannot be written still locks."""
    try:
        handle.seek(0)
        handle.truncate(0)
        if holder is not None:
            handle.write(json.dumps(asdict(holder)).encode("utf-8"))  # unbuffered: fails here, not at close
    except OSError:  # read-only or full warehouse: its first table write reports that
        pass
