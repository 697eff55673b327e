"""Spark's Thrift JDBC/ODBC server (HiveServer2 protocol), started inside our own Spark driver.

The server class ships in pip-installed PySpark
(``jars/spark-hive-thriftserver_*.jar``), so nothing else is installed.
Started with :func:`start_thrift_server`, it answers SQL from every JDBC/ODBC
session with this driver's catalog, where :mod:`novacrm_spark.serving.catalog`
put one view per table.

Example::

    >>> server = start_thrift_server(spark, "localhost", 10000, "/tmp/serve", AuthMode("none"))
    >>> server.url
    'jdbc:hive2://localhost:10000/default'
    >>> server.stop()
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from novacrm_spark.errors import ServingError
from novacrm_spark.serving.auth import AuthMode, install_password_check

def jdbc_url(host: str, port: int) -> str:
    """The URL BI tools and beeline connect to."""
    return f"jdbc:hive2://{host}:{port}/default"


def hive_conf(host: str, port: int, scratch_dir: str) -> dict[str, str]:
    """HiveServer2 settings: where to listen, and scratch folders under ``scratch_dir``.

    Hive's defaults put scratch, resource and log folders in /tmp and the
    current directory and never remove them; pointing them at one folder
    lets :func:`novacrm_spark.serving.commands.serve` delete it on exit.
    """
    return {
        "hive.server2.thrift.bind.host": host,
        "hive.server2.thrift.port": str(port),
        "hive.server2.transport.mode": "binary",
        "hive.exec.scratchdir": os.path.join(scratch_dir, "hive-scratch"),
        "hive.exec.local.scratchdir": os.path.join(scratch_dir, "hive-local"),
        "hive.downloaded.resources.dir": os.path.join(scratch_dir, "hive-resources"),
        "hive.querylog.location": os.path.join(scratch_dir, "hive-querylog"),
        "hive.server2.logging.operation.log.location": os.path.join(scratch_dir, "operation-logs"),
    }


def check_port_free(host: str, port: int) -> None:
    """Fail early, with a clear message, when something already listens on ``host:port``."""
    if not 0 < port < 65536:
        raise ServingError(f"--port must be between 1 and 65535; got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServingError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port") from None


@dataclass
class ThriftServer:
    """A running server; :meth:`stop` closes its port and sessions (the Spark session stays)."""

    host: str
    port: int
    handle: Any  # py4j reference to the JVM HiveThriftServer2

    @property
    def url(self) -> str:
        return jdbc_url(self.host, self.port)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.handle = None


def start_thrift_server(spark: SparkSession, host: str, port: int, scratch_dir: str, auth: AuthMode) -> ThriftServer:
    """Start the server on ``host:port`` over ``spark``'s catalog; returns once it listens.

    Each JDBC/ODBC session is a new Spark session of ``spark``, so the read-only
    guard installed on ``spark`` (:mod:`novacrm_spark.serving.guard`) holds for all of them.
    """
    check_port_free(host, port)
    jvm = spark.sparkContext._jvm  # noqa: SLF001 - py4j is the only way to reach the server class
    # Derby (Hive's execution metastore) writes derby.log into the current directory unless told.
    jvm.java.lang.System.setProperty("derby.stream.error.file", os.path.join(scratch_dir, "derby.log"))
    for key, value in {**hive_conf(host, port, scratch_dir), **auth.hive_conf()}.items():
        # The server builds its Hive configuration from the session's SQL conf.
        spark.conf.set(key, value)
        if value.startswith(scratch_dir):
            os.makedirs(value, exist_ok=True)  # Hive logs errors for missing ones
    if auth.credentials is not None:
        install_password_check(spark, auth.credentials)
    try:
        server_class = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
        handle = server_class.startWithContext(spark._jsparkSession.sqlContext())  # noqa: SLF001
    except Exception as exc:  # noqa: BLE001 - py4j raises its own error types
        raise ServingError(f"the Thrift JDBC server could not start on {host}:{port}: {_java_message(exc)}") from None
    return ThriftServer(host, port, handle)


def _java_message(exc: Exception) -> str:
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
