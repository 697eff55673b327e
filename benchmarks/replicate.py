"""A bigger dataset from a generated one: every raw CSV replicated N times under new ids.

    python benchmarks/replicate.py SOURCE_DIR TARGET_DIR [--copies 10]

Generating 150,000 accounts with faker takes far too long, so the ``xlarge``
benchmark scale is the cached ``large`` dataset copied 10 times. Each of the
five raw CSVs is streamed with Python's ``csv`` module (RFC 4180: a quoted
field may hold commas, doubled quotes and line breaks and stays one record)
and written as copy k = 0..N-1, the header once. Every field is kept as it is
except the id columns (each column whose name ends in ``_id``): in copy k > 0
a non-blank id gets the suffix ``-r<k>`` (``ACC-00001`` -> ``ACC-00001-r3``;
the suffix goes before any trailing padding, so a padded id still matches
after trimming). An empty or blank id stays as it is, so a deliberately
missing id stays missing. Referential links therefore stay inside each copy,
duplicates and dirty rows are replicated with their copy, and the tables of
copy k mirror those of copy 0.

The target folder is written atomically: everything goes to a hidden
``.<name>.partial-<pid>`` folder next to it, renamed into place at the end,
so an interrupted replication is never taken for a finished one. The target
also gets ``_replication.json`` (source, copies, records per file; Spark
does not read files whose names start with ``_``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

from novacrm_spark.sources import SOURCES

FILES = tuple(source.file_name for source in SOURCES.values())
MANIFEST = "_replication.json"
# A quoted field may be longer than csv's default limit (128 KiB); the generator's are not, but a dirty export may be.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def suffixed(value: str, copy: int) -> str:
    """An id of copy ``copy``: unchanged in copy 0 or when blank; else ``-r<copy>`` before any trailing padding.

    >>> suffixed("ACC-00001", 3), suffixed("ACC-00001", 0), suffixed("", 3), suffixed(" ACC-7  ", 1)
    ('ACC-00001-r3', 'ACC-00001', '', ' ACC-7-r1  ')
    """
    if copy == 0 or not value.strip():
        return value
    kept = value.rstrip()
    return f"{kept}-r{copy}{value[len(kept):]}"


def replicate_file(source: Path, target: Path, copies: int) -> int:
    """Write ``copies`` copies of the CSV ``source`` to ``target`` (header once); the records read per copy."""
    records = 0
    with open(source, newline="", encoding="utf-8") as inp, \
            open(target, "w", newline="", encoding="utf-8", buffering=1 << 20) as out:
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        header = next(csv.reader(inp), None)
        if header is None:  # an empty file: nothing to copy
            return 0
        writer.writerow(header)
        ids = [i for i, name in enumerate(header) if name.strip().endswith("_id")]
        for copy in range(copies):
            inp.seek(0)
            reader = csv.reader(inp)
            next(reader)
            records = 0
            if copy == 0:
                for row in reader:
                    writer.writerow(row)
                    records += bool(row)  # a blank line is kept, but is no record
                continue
            for row in reader:
                for i in ids:
                    if i < len(row):  # a short (dirty) record may lack the column
                        row[i] = suffixed(row[i], copy)
                writer.writerow(row)
                records += bool(row)
    return records


def replicate(source: Path, target: Path, copies: int) -> dict:
    """Replicate the five raw CSVs of ``source`` into ``target`` (atomically); what was written.

    Returns (and writes to ``target/_replication.json``) the source, the copies and,
    per file, the records of one copy and of all copies.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    missing = [name for name in FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{source}: missing {', '.join(missing)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target)
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    started = time.perf_counter()
    try:
        per_file = {}
        for name in FILES:
            one = replicate_file(source / name, partial / name, copies)
            per_file[name] = {"records_per_copy": one, "records": one * copies}
        manifest = {"source": str(source), "copies": copies, "files": per_file,
                    "seconds": round(time.perf_counter() - started, 2)}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def remove_abandoned(target: Path) -> None:
    """Partial folders of ``target`` left by a replication that was killed (its process is gone)."""
    for partial in target.parent.glob(f".{target.name}.partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a folder with the five raw CSVs (novacrm generate)")
    parser.add_argument("target", type=Path, help="the folder to create (must not exist)")
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    if args.target.exists():
        parser.error(f"{args.target} exists already")
    manifest = replicate(args.source, args.target, args.copies)
    for name, info in manifest["files"].items():
        print(f"{name}: {info['records_per_copy']:,} records x {args.copies} = {info['records']:,}")
    print(f"Wrote {args.target} in {manifest['seconds']} s")


if __name__ == "__main__":
    main()
