"""spark-submit against a real Spark standalone cluster (master and worker from the pip-installed PySpark).

Executors run in their own JVMs, so the embedded engine's driver-side commit
of files written by other processes is exercised; the submitted master must
win over the settings' `local[*]`. The cluster binds to 127.0.0.1 and is
stopped by the pids this module started. Every wait is bounded.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyspark
import pytest

from novacrm_spark.session import delta_package
from spark_processes import free_port, start, stop, wait_for
from tables_equal import assert_same_tables

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SPARK_HOME = Path(pyspark.__file__).parent
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A master and one 2-core worker on 127.0.0.1; yields (master URL, master log)."""
    folder = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(folder)}
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    master_log = folder / "master.log"
    master = start(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
         "--webui-port", str(free_port())],
        master_log, env,
    )  # fmt: skip
    worker = None
    try:
        wait_for(master_log, f"Starting Spark master at {url}", master)
        worker = start(
            [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "2",
             "--memory", "2g", "--webui-port", str(free_port()), "--work-dir", str(folder / "work"), url],
            folder / "worker.log", env,
        )  # fmt: skip
        wait_for(master_log, "Registering worker", master)
        yield url, master_log
    finally:
        for process in (worker, master):
            if process is not None:
                stop(process)


@pytest.mark.parametrize("delta", [False, True], ids=["embedded", "delta-spark"])
def test_spark_submit_all_runs_on_the_cluster_and_equals_a_local_run(cluster, built_warehouse, tmp_path, delta):
    url, master_log = cluster
    warehouse = tmp_path / "wh"
    apps_before = master_log.read_text().count("Registering app")
    env = {
        **os.environ,
        # delta-spark: Delta's jars through --packages, to the driver and the executors.
        **({"DELTA_SPARK_PACKAGE": delta_package()} if delta else {}),
        "SPARK_MASTER": url,
        "SPARK_SUBMIT": str(SPARK_HOME / "bin" / "spark-submit"),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_SUBMIT_ARGS": "--executor-memory 1g --total-executor-cores 2 --conf spark.ui.enabled=false",
    }
    command = ["./spark-submit.sh", "all", "--warehouse", str(warehouse), "--input", "data/raw", "--as-of", "2025-01-31"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The master ran the three layers' applications: nothing ran in local mode on the side.
    assert master_log.read_text().count("Registering app") - apps_before == 3, master_log.read_text()[-3000:]
    assert done.stdout.count(f"engine {'delta-spark' if delta else 'embedded'}") == 3
    assert_same_tables(built_warehouse, warehouse)
