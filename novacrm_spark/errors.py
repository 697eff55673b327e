"""One exception hierarchy for the project.

Every error a user can cause (a bad config value, a bad input file, a failed
data-quality check) or that the machine's state causes (a read-only or full
warehouse, another writer's commit) is a :class:`NovaCrmError`; the CLI prints
its message as one ``error: ...`` line and exits 2 without a traceback.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno


class NovaCrmError(Exception):
    """Base class of every expected, user-facing error."""


class ConfigError(NovaCrmError):
    """A setting is missing or has a value we cannot use."""


class InputFileError(NovaCrmError):
    """A raw input file is missing, empty, not CSV/UTF-8, or has the wrong columns."""


class SelectionError(NovaCrmError):
    """A ``--select``, ``--layer`` or table name names no known model or table."""


class StaleDataError(NovaCrmError):
    """A source's newest record is too old for the as-of date, or the as-of date lies outside the data."""


class TableNotFoundError(NovaCrmError):
    """A table was read before it was ever published."""


class WarehouseError(NovaCrmError):
    """The warehouse cannot take a write: read-only, full, no permission, or a file in the way."""


class CommitConflictError(NovaCrmError):
    """Another writer committed to a table after this run staged its write; the write was not published."""


class WarehouseBusyError(NovaCrmError):
    """Another live run holds the warehouse's run lock."""


class ReportError(NovaCrmError):
    """The report cannot be built: marts missing, or the output cannot be written."""


class ServingError(NovaCrmError):
    """A table cannot be served, a query failed, or the server cannot start or register."""


# OS errors caused by the machine's state rather than by a bug, and how to say them.
ENVIRONMENT_ERRNOS = {
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
}


def environment_problem(exc: OSError) -> str | None:
    """How to say ``exc`` when it is the machine's state (read-only, full, ...), else None.

    Example: ``environment_problem(OSError(errno.EROFS, "x"))`` -> ``'read-only file system'``.
    """
    return ENVIRONMENT_ERRNOS.get(exc.errno) if isinstance(exc, OSError) else None
