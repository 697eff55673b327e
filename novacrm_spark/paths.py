"""Where a warehouse lives: a local folder (a plain path or ``file://``) or object storage.

Run results, the run lock, the watermark and the report read local files only,
so each asks :func:`is_local` first and opens :func:`local_path`.

Example::

    >>> is_local("warehouse"), is_local("file:///w/lake"), is_local("s3a://bucket/lake")
    (True, True, False)
    >>> local_path("file:///w/lake")
    '/w/lake'
"""

from __future__ import annotations


def is_local(warehouse: str) -> bool:
    """Whether ``warehouse`` is a folder on this machine: no scheme, or ``file://``.

    Example: ``is_local("/w/lake")`` -> True; ``is_local("abfss://c@a.dfs.core.windows.net/lake")`` -> False.
    """
    return "://" not in warehouse or warehouse.startswith("file://")


def local_path(warehouse: str) -> str:
    """The folder of a local warehouse, without its ``file://`` scheme.

    Example: ``local_path("file:///w/lake")`` -> ``'/w/lake'``; ``local_path("lake")`` -> ``'lake'``.
    """
    return warehouse.removeprefix("file://")
