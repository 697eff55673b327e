"""An order-free fingerprint of a table version, the same whichever engine reads it.

Run as a script it prints the fingerprints of the table versions given as JSON
on stdin, read with one engine: a process of its own, since a JVM's classpath
(Delta's jars or not) is fixed when it starts.
"""

from __future__ import annotations

import json
import sys

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

RUN_TIMESTAMPS = {"_loaded_at", "scored_at", "assessed_at"}


def fingerprint(df: DataFrame) -> list:
    """[rows, sum of every row's xxhash64] over the columns that are not run timestamps."""
    columns = sorted(c for c in df.columns if c not in RUN_TIMESTAMPS)
    row = df.agg(F.count(F.lit(1)), F.sum(F.xxhash64(*columns).cast("decimal(38,0)"))).first()
    return [int(row[0]), str(row[1])]


def main() -> None:
    from novacrm_spark.config import Settings
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store

    engine = sys.argv[1]
    versions = json.load(sys.stdin)  # [[warehouse, layer, table, version], ...]
    spark = build_spark_session(Settings(master="local[1]", engine=engine, shuffle_partitions=1))
    stores = {w: open_store(spark, w, engine) for w in {v[0] for v in versions}}
    print(json.dumps([fingerprint(stores[w].read(layer, table, version=v)) for w, layer, table, v in versions]))


if __name__ == "__main__":
    main()
