"""The process table from /proc, for measuring a process tree (Linux only).

    >>> children, stats = process_table()
    >>> stats[os.getpid()][1] == str(os.getppid())   # fields from stat's third on: state, ppid, ...
    True
"""

from __future__ import annotations

import os


def process_table() -> tuple[dict[int, list[int]], dict[int, list[str]]]:
    """Child pids by parent pid, and each process's ``/proc/<pid>/stat`` fields from the third (state) on."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # the process ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(entry))
        stats[int(entry)] = fields
    return children, stats
