"""CPU and wall time of the usage path, stage by stage, in one Spark session.

    python benchmarks/usage_stages.py --input /tmp/novacrm-bench-data/accounts_150 --master 'local[2]' --out stages.json

The session is built as ``novacrm run`` builds it. First, not attributed to any
stage, the accepted ``stg_accounts`` rows are built from the accounts export,
persisted and counted. Then each stage is one Spark job, measured on its own,
and each job redoes everything before it (the stages are **cumulative**):

- ``parse``: read the usage events CSV (``sources.read_raw``; the export is listed
  once beforehand), to the no-op sink;
- ``dedupe``: + clean the text and collapse identical rows per key
  (``_one_row_per_version(clean(raw, RULES), "event_id")``), to the no-op sink;
- ``validation``: + type, join the accepted accounts and give each row its
  reason (``validate(raw, RULES, accounts)``), to the no-op sink;
- ``write``: + split off the accepted rows (``stg_usage_events(...).accepted``,
  bookkeeping columns dropped) and write them as Parquet to a scratch folder;
- ``fct_usage``: the ``fct_usage`` model over that Parquet (as of ``--as-of``), to
  the no-op sink. It starts from the written table, so its job is its increment
  and its cumulative value is the write's plus its own.

Around each job it takes wall seconds and the CPU seconds of the whole process
tree (this Python process, the driver JVM it launched and any Python workers:
utime + stime, children's included, from /proc). A stage's increment is its
cumulative value less the previous stage's (``parse``'s is itself): the cost
that stage adds. Jobs run one after the other in the same warm JVM; JIT and GC
work land in whichever job they happen in. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

from proc import process_table

# Stages in order; True when the stage's job starts from the previous stage's output
# (its measurement is then its increment), False when it redoes everything before it.
STAGES: tuple[tuple[str, bool], ...] = (
    ("parse", False),
    ("dedupe", False),
    ("validation", False),
    ("write", False),
    ("fct_usage", True),
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (each one's reaped children included)."""
    children, stats = process_table()
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        # Fields 14-17 of stat (utime, stime, cutime, cstime); the table's fields start at the third.
        total += sum(int(v) for v in stats[pid][11:15]) if pid in stats else 0
        stack.extend(children.get(pid, []))
    return total / CLOCK_TICKS


def accumulate(measured: list[tuple[str, float, float]]) -> list[dict]:
    """Per stage, in :data:`STAGES` order: measured (stage, wall s, CPU s) -> cumulative and increment.

    A stage whose job redoes everything before it is cumulative as measured; one that
    starts from the previous stage's output (``fct_usage``) adds its measurement to it.

    >>> rows = accumulate([("parse", 2.0, 3.0), ("dedupe", 5.0, 8.0), ("validation", 6.0, 10.0),
    ...                    ("write", 9.0, 14.0), ("fct_usage", 1.0, 2.0)])
    >>> [(r["stage"], r["cpu_seconds"], r["cpu_increment_seconds"]) for r in rows]
    [('parse', 3.0, 3.0), ('dedupe', 8.0, 5.0), ('validation', 10.0, 2.0), ('write', 14.0, 4.0), ('fct_usage', 16.0, 2.0)]
    """
    names = [name for name, _ in STAGES]
    if [stage for stage, _, _ in measured] != names:
        raise ValueError(f"stages must be measured in the order {names}; got {[s for s, _, _ in measured]}")
    rows: list[dict] = []
    wall_before = cpu_before = 0.0
    for (stage, wall, cpu), (_, on_previous) in zip(measured, STAGES):
        wall_total = wall_before + wall if on_previous else wall
        cpu_total = cpu_before + cpu if on_previous else cpu
        rows.append({
            "stage": stage,
            "wall_seconds": round(wall_total, 2),
            "cpu_seconds": round(cpu_total, 2),
            "wall_increment_seconds": round(wall_total - wall_before, 2),
            "cpu_increment_seconds": round(cpu_total - cpu_before, 2),
            "measured_wall_seconds": round(wall, 2),
            "measured_cpu_seconds": round(cpu, 2),
        })
        wall_before, cpu_before = wall_total, cpu_total
    return rows


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Run ``action``; its wall seconds and the process tree's CPU seconds meanwhile."""
    pid = os.getpid()
    cpu, started = tree_cpu_seconds(pid), time.perf_counter()
    action()
    return time.perf_counter() - started, tree_cpu_seconds(pid) - cpu


def measure_stages(spark, input_dir: str, as_of: dt.date, scratch: str) -> dict:
    """Build the accounts, then time each stage of :data:`STAGES`; the setup's cost and the stages'."""
    from pyspark import StorageLevel

    from novacrm_spark.bookkeeping import BOOKKEEPING
    from novacrm_spark.models.core.fct_usage import fct_usage
    from novacrm_spark.models.staging._validation import _one_row_per_version, clean, validate
    from novacrm_spark.models.staging.stg_accounts import stg_accounts
    from novacrm_spark.models.staging.stg_usage_events import RULES, stg_usage_events
    from novacrm_spark.sources import list_exports, read_raw

    loaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    setup_started, setup_cpu = time.perf_counter(), tree_cpu_seconds(os.getpid())
    accounts = stg_accounts(read_raw(spark, input_dir, "accounts"), loaded_at=loaded_at).accepted
    accounts = accounts.drop(*BOOKKEEPING).persist(StorageLevel.MEMORY_AND_DISK)
    account_rows = accounts.count()
    events = list_exports(spark, input_dir)["usage_events"].require_files()  # listed once, as a run does
    setup = {"wall_seconds": round(time.perf_counter() - setup_started, 2),
             "cpu_seconds": round(tree_cpu_seconds(os.getpid()) - setup_cpu, 2)}

    def noop(df) -> None:
        df.write.format("noop").mode("overwrite").save()

    def raw():
        return read_raw(spark, input_dir, "usage_events", events)

    written = f"{scratch}/stg_usage_events"
    jobs: dict[str, Callable[[], object]] = {
        "parse": lambda: noop(raw()),
        "dedupe": lambda: noop(_one_row_per_version(clean(raw(), RULES), RULES.source.key)),
        "validation": lambda: noop(validate(raw(), RULES, accounts)),
        "write": lambda: stg_usage_events(raw(), accounts, loaded_at=loaded_at).accepted.drop(*BOOKKEEPING)
        .write.mode("overwrite").parquet(written),
        "fct_usage": lambda: noop(fct_usage(accounts, spark.read.parquet(written), as_of_date=as_of)),
    }
    measured = []
    for stage, _ in STAGES:
        wall, cpu = timed(jobs[stage])
        measured.append((stage, wall, cpu))
    accounts.unpersist()
    return {"accepted_accounts": account_rows, "setup": setup, "stages": accumulate(measured)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a folder with the raw CSVs")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--as-of", default="2025-01-31", help="fct_usage's as-of date (YYYY-MM-DD)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()

    from novacrm_spark.config import Settings
    from novacrm_spark.session import build_spark_session

    spark = build_spark_session(Settings(master=args.master))
    try:
        with tempfile.TemporaryDirectory(prefix="novacrm-usage-stages-") as scratch:
            result = measure_stages(spark, args.input, dt.date.fromisoformat(args.as_of), scratch)
    finally:
        spark.stop()
    result = {"input": args.input, "master": args.master, "as_of": args.as_of, **result}
    print(f"setup (stg_accounts, {result['accepted_accounts']:,} rows): wall {result['setup']['wall_seconds']:.2f} s, "
          f"CPU {result['setup']['cpu_seconds']:.2f} s (in no stage)")
    for row in result["stages"]:
        print(f"{row['stage']:<11} wall {row['wall_seconds']:8.2f} s  CPU {row['cpu_seconds']:8.2f} s  "
              f"CPU increment {row['cpu_increment_seconds']:+8.2f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
