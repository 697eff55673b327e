"""The one place that builds a SparkSession.

Example::

    >>> spark = build_spark_session(load_settings("conf/local.yaml"))

Under ``spark-submit`` (or in a running session, as on Databricks) the master
chosen there wins over the settings' master; only a plain ``novacrm`` run uses
``settings.master``. The session time zone is always UTC
because the raw timestamps are naive wall-clock values.
"""

from __future__ import annotations

import os
import sys

from pyspark import SparkConf
from pyspark.sql import SparkSession

from novacrm_spark.config import Settings

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"

# The local driver JVM (a cluster's JVMs are its own business; measured in docs/benchmarks.md):
LOCAL_JVM_OPTIONS = (
    # On a laptop's few cores G1's concurrent threads compete with the tasks; the
    # throughput collector used about 8% less CPU per build.
    "-XX:+UseParallelGC",
    # A build runs some forty short queries, each with its own generated code, so the
    # optimising JIT compiles far more than it runs. Shallower inlining (JDK 17 defaults:
    # 15, 2500, 325) makes its compiles cheaper: a third less JIT CPU, about a fifth
    # less build time, the tasks no slower.
    "-XX:MaxInlineLevel=6",
    "-XX:InlineSmallCode=500",
    "-XX:FreqInlineSize=150",
)


def build_spark_session(settings: Settings) -> SparkSession:
    """Return the (new or running) session configured for ``settings``."""
    # Local Python workers must run this interpreter, or they will not find pyarrow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(settings.app_name)
    if not master_is_given():
        builder = builder.master(settings.master)
    for key, value in spark_defaults(settings).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def master_is_given() -> bool:
    """True when the master was chosen outside the settings: by spark-submit, or by a running session.

    spark-submit starts Python with its JVM already running (``PYSPARK_GATEWAY_PORT``
    set) and ``spark.master`` set there; a Python-side ``SparkConf()`` cannot see
    that before a context exists, so the environment is what tells.
    """
    return (
        bool(os.environ.get("PYSPARK_GATEWAY_PORT"))
        or SparkSession.getActiveSession() is not None
        or SparkConf().contains("spark.master")
    )


def runs_in_one_jvm(master: str) -> bool:
    """True for ``local`` and ``local[...]`` masters, whose only executor is the driver itself.

    Example: ``local[2]`` -> True; ``local-cluster[2,1,1024]`` (executor processes), ``yarn`` -> False.
    """
    return master == "local" or master.startswith("local[")


def spark_defaults(settings: Settings) -> dict[str, str]:
    """The Spark configuration a run needs, settings' ``spark_conf`` last so it wins."""
    conf = {
        # A local run reports its own failures as one `error:` line; Spark's task-failure
        # stack traces (a full disk, say) would bury it. Clusters keep their ERROR logs.
        # A setting, not sparkContext.setLogLevel: there is no SparkContext under Spark Connect.
        "spark.log.level": "FATAL" if runs_in_one_jvm(settings.master) else "ERROR",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if settings.master.startswith("local"):
        conf["spark.ui.enabled"] = "false"
        # A 1g heap keeps the whole process tree under 2 GB and is ample for millions
        # of events (Spark spills).
        conf["spark.driver.memory"] = "1g"
        conf["spark.driver.extraJavaOptions"] = " ".join(LOCAL_JVM_OPTIONS)
        # Reading a table back: listing its files on the driver beats a Spark job of one task per file.
        conf["spark.sql.sources.parallelPartitionDiscovery.threshold"] = "1024"
    if settings.engine == "delta-spark":
        conf["spark.sql.extensions"] = DELTA_EXTENSION
        conf["spark.sql.catalog.spark_catalog"] = DELTA_CATALOG
    conf.update(settings.spark_conf)
    return conf
