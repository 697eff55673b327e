"""OS, Spark and Delta failures said as project errors, where the store meets them.

A read-only or full warehouse shows up in three forms: a Python ``OSError``
(the driver's own file operations), an ``OSError`` from delta-rs without an
``errno`` but with ``(os error 28)`` in its text, and a Java ``IOException``
inside a failed Spark write. Each becomes a :class:`WarehouseError` naming the
table and its path. Another writer's commit becomes a
:class:`CommitConflictError`. Anything else passes through unchanged: it is a
bug, or an error of the data, and keeps its traceback.

Example::

    >>> with writing("table core.fct_revenue", "/lake/core/fct_revenue"):
    ...     os.makedirs("/lake/core/fct_revenue")      # on a read-only mount
    WarehouseError: cannot write table core.fct_revenue at /lake/core/fct_revenue: read-only file system; the table is unchanged
"""

from __future__ import annotations

import errno
import re
from contextlib import contextmanager
from typing import Iterator

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException

from novacrm_spark.errors import ENVIRONMENT_ERRNOS, CommitConflictError, WarehouseError

# delta-rs (Rust) raises OSError with errno None; the OS's code is only in the text.
RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")
# The JVM says the OS's strerror after the exception's name, e.g.
# "Caused by: java.io.IOException: No space left on device" or "FileNotFoundException: /x (Read-only file system)".
JAVA_OS_ERROR = re.compile(
    r"(?:IOException|FileSystemException|FileNotFoundException|FSError)\b[^\n]*?"
    r"(No space left on device|Read-only file system|Disk quota exceeded|Permission denied|Not a directory)"
)
JAVA_STRERROR = {
    "No space left on device": errno.ENOSPC,
    "Read-only file system": errno.EROFS,
    "Disk quota exceeded": errno.EDQUOT,
    "Permission denied": errno.EACCES,
    "Not a directory": errno.ENOTDIR,
}


def os_errno(exc: BaseException) -> int | None:
    """The OS error code behind ``exc`` (Python, delta-rs or a Spark job), or None."""
    if isinstance(exc, OSError):
        if exc.errno is not None:
            return exc.errno
        match = RUST_OS_ERROR.search(str(exc))
        return int(match.group(1)) if match else None
    if isinstance(exc, (Py4JJavaError, PySparkException)):
        match = JAVA_OS_ERROR.search(str(exc))
        return JAVA_STRERROR[match.group(1)] if match else None
    return None


@contextmanager
def writing(what: str, path: str, note: str = "; the table is unchanged") -> Iterator[None]:
    """Inside: a read-only, full or forbidden warehouse raises WarehouseError naming ``what`` and ``path``."""
    try:
        yield
    except (OSError, Py4JJavaError, PySparkException) as exc:
        problem = ENVIRONMENT_ERRNOS.get(os_errno(exc))
        if problem is None:
            raise
        raise WarehouseError(f"cannot write {what} at {path}: {problem}{note}") from exc


def conflict(table: str, path: str, read: int | None, now: int | None) -> CommitConflictError:
    """The error for a table another writer committed to after this write was staged."""
    seen = "found no table" if read is None else f"read version {read}"
    found = "removed the table" if now is None else f"committed version {now}"
    return CommitConflictError(
        f"table {table} at {path} was changed by another writer: it {found} after this run {seen}; "
        "this run's write was not published, run it again"
    )
