"""The commands over Spark Connect: a real server process, this package only its client.

The server is pyspark's own (``SparkConnectServer`` through spark-submit) on
127.0.0.1, stopped by the pid this module started. The client processes start
no JVM of their own: Spark runs in the server, and the embedded engine commits
from the client what the server wrote into the shared warehouse folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyspark
import pytest

from spark_processes import free_port, start, stop, wait_for
from tables_equal import assert_same_tables

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SPARK_HOME = Path(pyspark.__file__).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    """A Spark Connect server on 127.0.0.1 (local[2]); yields its sc:// URL."""
    folder = tmp_path_factory.mktemp("connect")
    port = free_port()
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("SPARK_REMOTE", None)
    log = folder / "server.log"
    process = start(
        [str(SPARK_HOME / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
         "--master", "local[2]", "--driver-memory", "1g",
         "--conf", "spark.connect.grpc.binding.address=127.0.0.1", "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.ui.enabled=false"],
        log, env,
    )  # fmt: skip
    try:
        wait_for(log, "Spark Connect server started", process)
        yield f"sc://127.0.0.1:{port}"
    finally:
        stop(process)


def novacrm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}
    return subprocess.run(
        [sys.executable, "-m", "novacrm_spark.cli", *args], cwd=ROOT, env={**environment, **(env or {})},
        capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture(scope="module")
def connect_warehouse(server, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Every layer built over Spark Connect; the input is given relative to the client's folder."""
    warehouse = tmp_path_factory.mktemp("connect-run") / "warehouse"
    done = novacrm("run", "--remote", server, "--input", "data/raw", "--warehouse", str(warehouse),
                   "--as-of", "2025-01-31")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return warehouse, done


def test_a_run_over_spark_connect_equals_the_classic_run(connect_warehouse, built_warehouse):
    warehouse, done = connect_warehouse

    assert_same_tables(built_warehouse, warehouse)
    assert "Done. PASS=" in done.stdout
    assert done.stderr == ""  # no JVM here, and no server warning passed on as a Python warning


def test_an_incremental_run_and_show_over_spark_connect(server, connect_warehouse):
    warehouse, _ = connect_warehouse

    incremental = novacrm("run", "--remote", server, "--input", "data/raw", "--warehouse", str(warehouse),
                          "--as-of", "2025-01-31", "--incremental", "--select", "stg_usage_events",
                          "--select", "fct_usage")
    # pyspark's own SPARK_REMOTE chooses Spark Connect too.
    shown = novacrm("show", "marts.nrr_summary", "--warehouse", str(warehouse), "--limit", "3",
                    env={"SPARK_REMOTE": server})

    assert incremental.returncode == 0, incremental.stdout[-3000:] + incremental.stderr[-3000:]
    assert "incremental: 0 usage file(s) after the watermark" in incremental.stdout
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout.startswith("marts.nrr_summary (version 1):")  # its data, then its constraints
    assert "only showing top 3 rows" in shown.stdout


def test_report_over_spark_connect(server, connect_warehouse, tmp_path):
    warehouse, _ = connect_warehouse
    out = tmp_path / "report.html"

    done = novacrm("report", "--remote", server, "--warehouse", str(warehouse), "--out", str(out))

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Customer Health" in out.read_text(encoding="utf-8")


def test_sql_and_serve_need_a_classic_session_and_say_so(server, connect_warehouse):
    warehouse, _ = connect_warehouse

    for command in (["sql", "SELECT 1"], ["serve", "--no-auth"]):
        done = novacrm(*command, "--remote", server, "--warehouse", str(warehouse))

        assert done.returncode == 2
        assert done.stderr.startswith(f"error: novacrm {command[0]} needs a classic Spark session")
        assert len(done.stderr.strip().splitlines()) == 1
