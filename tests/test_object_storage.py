"""Warehouse and raw exports on object storage (``s3a://``), against a real S3-compatible server.

moto's standalone server (PyPI) listens on 127.0.0.1 and is stopped by the pid
this module started. Spark reaches it through hadoop-aws (fetched by Spark's
resolver from Maven Central like Delta's jars; .ci/run fetches both once);
delta-rs reads the tables back with its own object-store client. Path-style
requests, plain HTTP, throwaway credentials.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

from novacrm_spark.registry import all_models
from spark_processes import free_port, start, stop, wait_for
from tables_equal import assert_same_tables

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "novacrm-lake"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "novacrm-test", "AWS_SECRET_ACCESS_KEY": "novacrm-test-secret",
               "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A bucket holding the bundled sample under raw/; yields the server's endpoint URL."""
    boto3 = pytest.importorskip("boto3")
    folder = tmp_path_factory.mktemp("s3")
    port = free_port()
    server = start([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                   folder / "moto.log", {**os.environ, **CREDENTIALS})
    try:
        wait_for(folder / "moto.log", f"Running on http://127.0.0.1:{port}", server)
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        client.create_bucket(Bucket=BUCKET)
        for export in sorted((ROOT / "data" / "raw").iterdir()):
            client.upload_file(str(export), BUCKET, f"raw/{export.name}")
        yield endpoint, client
    finally:
        stop(server)


def run_on_s3(endpoint: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # Only the endpoint is configuration; credentials come from the environment, as in production.
    config = tmp_path / "s3.yaml"
    config.write_text(
        f"input_dir: s3a://{BUCKET}/raw\n"
        "spark_conf:\n"
        f"  spark.hadoop.fs.s3a.endpoint: {endpoint}\n"
        "  spark.hadoop.fs.s3a.endpoint.region: us-east-1\n"
        "  spark.hadoop.fs.s3a.path.style.access: 'true'\n"
        "  spark.hadoop.fs.s3a.connection.ssl.enabled: 'false'\n"
    )
    env = {**os.environ, **CREDENTIALS}
    env.pop("SPARK_REMOTE", None)
    command = ["novacrm", "run", "--config", str(config), "--master", "local[2]", "--as-of", "2025-01-31", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def keys(client, prefix: str) -> list[str]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture(scope="module")
def s3_run(s3, tmp_path_factory):
    """Every layer built by delta-spark into an s3a:// warehouse; yields (warehouse, the CLI's output, reader)."""
    endpoint, _client = s3
    warehouse = f"s3a://{BUCKET}/warehouse"
    done = run_on_s3(endpoint, tmp_path_factory.mktemp("s3-run"), "--warehouse", warehouse, "--engine", "delta-spark")
    assert done.returncode == 0, done.stdout + done.stderr
    # delta-rs reads the tables back through its own S3 client.
    return warehouse, done, {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", **CREDENTIALS}


def test_delta_spark_builds_every_layer_on_s3a_equal_to_a_local_run(s3, s3_run, built_warehouse):
    _endpoint, client = s3
    warehouse, done, reader = s3_run
    assert f"engine delta-spark, input s3a://{BUCKET}/raw, warehouse {warehouse}" in done.stdout
    assert "Published 21 table(s)" in done.stdout
    assert any(key.endswith("_delta_log/00000000000000000000.json") for key in keys(client, "warehouse/marts/"))
    # Every table equals the local run's.
    assert_same_tables(built_warehouse, warehouse, storage_options=reader)


def test_the_run_records_and_the_watermark_are_tables_on_s3a(s3, s3_run, tmp_path):
    endpoint, _client = s3
    warehouse, done, reader = s3_run
    run_id = re.search(r"^Run (\S+):", done.stdout, re.MULTILINE).group(1)
    results = DeltaTable(f"{warehouse}/_runs/results", storage_options=reader).to_pyarrow_table().to_pylist()
    assert sorted(r["model"] for r in results) == sorted(all_models())
    assert {(r["run_id"], r["version"], r["engine"]) for r in results} == {(run_id, 0, "delta-spark")}
    watermark = f"{warehouse}/_meta/usage_watermark"
    assert [r["name"] for r in DeltaTable(watermark, storage_options=reader).to_pyarrow_table().to_pylist()] == [
        "raw_usage_events.csv"]

    # The next --incremental run finds the watermark on S3: nothing new to read, nothing rebuilt in full.
    again = run_on_s3(endpoint, tmp_path, "--warehouse", warehouse, "--engine", "delta-spark", "--incremental",
                      "--select", "stg_usage_events", "--select", "fct_usage")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "incremental: 0 usage file(s) after the watermark" in again.stdout
    assert DeltaTable(f"{warehouse}/staging/stg_usage_events", storage_options=reader).version() == 0
    assert DeltaTable(watermark, storage_options=reader).version() == 0
    runs = DeltaTable(f"{warehouse}/_runs/results", storage_options=reader).to_pyarrow_table().to_pylist()
    assert len({r["run_id"] for r in runs}) == 2 and len(runs) == len(results) + 2


def test_the_embedded_engine_refuses_object_storage_before_any_write(s3, tmp_path):
    endpoint, client = s3
    done = run_on_s3(endpoint, tmp_path, "--warehouse", f"s3a://{BUCKET}/embedded", "--engine", "embedded")
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "object storage" in errors[0] and "delta-spark" in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert keys(client, "embedded/") == []
