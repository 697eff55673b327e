"""The one place that builds a SparkSession: classic, or a Spark Connect client.

Example::

    >>> spark = build_spark_session(load_settings("conf/local.yaml"))
    >>> spark = build_spark_session(load_settings(overrides={"remote": "sc://spark-host:15002"}))

Under ``spark-submit`` (or in a running session, as on Databricks) the master
chosen there wins over the settings' master; only a plain ``novacrm`` run uses
``settings.master``. With a ``remote`` setting (or pyspark's own ``SPARK_REMOTE``)
the session is a Spark Connect client: Spark runs on the server and only the
session's SQL settings are ours to set. The session time zone is always UTC
because the raw timestamps are naive wall-clock values.

A local Spark's start-up banner and log lines are hidden unless ``verbose``.
"""

from __future__ import annotations

import glob
import os
import re
import sys
import warnings

from contextlib import contextmanager
from importlib import metadata
from typing import Iterator

from pyspark import SparkConf
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from novacrm_spark.config import Settings, remote_url
from novacrm_spark.errors import NovaCrmError
from novacrm_spark.extras import require_extras

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
# A user's own jar list: then no package is added for them.
USER_JARS = "spark.jars"
PACKAGES = "spark.jars.packages"

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


def delta_package() -> str | None:
    """Delta's Maven coordinates matching the installed delta-spark Python package (None without it).

    Example: with delta-spark 4.0.1 installed -> ``'io.delta:delta-spark_2.13:4.0.1'``.
    """
    try:
        return f"io.delta:delta-spark_2.13:{metadata.version('delta-spark')}"
    except metadata.PackageNotFoundError:
        return None


def hadoop_aws_package() -> str | None:
    """hadoop-aws matching the Hadoop jars of this Spark (the ``s3a://`` filesystem), None if unknown.

    Example: pip's pyspark 4.0 ships hadoop-client-api-3.4.1.jar -> ``'org.apache.hadoop:hadoop-aws:3.4.1'``.
    """
    import pyspark

    jars = os.path.join(os.environ.get("SPARK_HOME") or os.path.dirname(pyspark.__file__), "jars")
    found = sorted(glob.glob(os.path.join(jars, "hadoop-client-api-*.jar")))
    version = found and re.fullmatch(r"hadoop-client-api-(.+)\.jar", os.path.basename(found[-1]))
    return f"org.apache.hadoop:hadoop-aws:{version.group(1)}" if version else None


def local_packages(settings: Settings) -> str | None:
    """``spark.jars.packages`` for a local run: the user's, plus Delta's and hadoop-aws where needed.

    A laptop's JVM gets jars the standard way, through Spark's resolver (Maven
    Central, cached in ~/.ivy2.5.2); a cluster brings its own. A package the
    user names (same group and artifact) is left as the user gave it.

    Example: engine delta-spark, warehouse ``s3a://lake/w`` ->
    ``'io.delta:delta-spark_2.13:4.0.1,org.apache.hadoop:hadoop-aws:3.4.1'``.
    """
    given = [p.strip() for p in settings.spark_conf.get(PACKAGES, "").split(",") if p.strip()]
    if not settings.master.startswith("local") or USER_JARS in settings.spark_conf:
        return ",".join(given) or None
    wanted = [delta_package() if settings.engine == "delta-spark" else None]
    if any(str(path).startswith("s3a://") for path in (settings.warehouse, settings.input_dir)):
        wanted.append(hadoop_aws_package())
    named = {p.rsplit(":", 1)[0] for p in given}
    packages = given + [p for p in wanted if p and p.rsplit(":", 1)[0] not in named]
    return ",".join(packages) or None


def build_spark_session(settings: Settings, verbose: bool = False) -> SparkSession:
    """Return the (new or running) session configured for ``settings``."""
    remote = remote_url(settings)
    if remote is not None:
        return connect_session(settings, remote, verbose)
    # Local Python workers must run this interpreter, or they will not find pyarrow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    launches_jvm = not master_is_given()
    builder = SparkSession.builder.appName(settings.app_name)
    if launches_jvm:
        builder = builder.master(settings.master)
    for key, value in spark_defaults(settings, verbose).items():
        builder = builder.config(key, value)
    try:
        with jvm_output_hidden(launches_jvm and not verbose):
            return builder.getOrCreate()
    except PySparkRuntimeError as exc:
        if exc.getCondition() != "JAVA_GATEWAY_EXITED":
            raise
        fetching = " Spark fetches Delta's jars from Maven Central first: is it reachable?" if (
            "spark.jars.packages" in spark_defaults(settings)) else ""
        raise NovaCrmError(
            "Spark could not start: its Java process exited (Java 17 must be on PATH or in JAVA_HOME)."
            f"{fetching} --verbose shows its output"
        ) from None


def connect_session(settings: Settings, remote: str, verbose: bool = False) -> SparkSession:
    """A Spark Connect client session of ``remote``, with the run's SQL settings.

    Needs the ``connect`` extra (grpcio and friends); without it, one clear error.
    """
    require_extras("connect")
    if not verbose:
        # The server's plan warnings (a window over one partition, say) reach the client as Python warnings.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"pyspark\.sql\.connect\.")
    builder = SparkSession.builder.remote(remote)
    for key, value in session_conf(settings).items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - grpc's errors carry no stable class; the first line tells
        where = remote.split(";", 1)[0].rstrip("/")  # never the token a URL may carry
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise NovaCrmError(f"cannot open a Spark Connect session at {where}: {first}") from None


@contextmanager
def jvm_output_hidden(hidden: bool) -> Iterator[None]:
    """The local JVM pyspark launches writes its banner and log lines to the stderr it inherits:
    while ``hidden``, that is /dev/null (this process's own stderr comes back afterwards)."""
    if not hidden:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


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


def session_conf(settings: Settings) -> dict[str, str]:
    """The SQL settings a run needs on any session, a Spark Connect one too; ``spark_conf`` last so it wins."""
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **settings.spark_conf,
    }


def spark_defaults(settings: Settings, verbose: bool = False) -> dict[str, str]:
    """The Spark configuration a classic session needs, settings' ``spark_conf`` last so it wins."""
    conf = {
        # A local run reports its own failures as one `error:` line; Spark's task-failure
        # stack traces (a full disk, say) would bury it. Clusters keep their ERROR logs.
        # A setting, not sparkContext.setLogLevel: there is no SparkContext under Spark Connect.
        "spark.log.level": "WARN" if verbose else "FATAL" if runs_in_one_jvm(settings.master) else "ERROR",
        "spark.ui.showConsoleProgress": "false",
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
    conf.update(session_conf(settings))
    packages = local_packages(settings)
    if packages:
        conf[PACKAGES] = packages
    return conf
