"""The Spark floor: the least work any Spark pipeline on these inputs can do.

Reads each of the five raw CSVs (explicit all-text schema) and writes it once
as Parquet, in a fresh local session configured like ``novacrm run``.

    python benchmarks/floor.py --input DIR --out DIR [--master local[*]]
"""

from __future__ import annotations

import argparse

from novacrm_spark.config import Settings
from novacrm_spark.session import build_spark_session
from novacrm_spark.sources import SOURCES, read_raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()
    spark = build_spark_session(Settings(master=args.master))
    for source in SOURCES:
        read_raw(spark, args.input, source).write.mode("overwrite").parquet(f"{args.out}/{source}")
    spark.stop()


if __name__ == "__main__":
    main()
