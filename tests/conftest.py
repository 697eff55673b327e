"""Shared fixtures: one local Spark session for the whole test run."""

from __future__ import annotations

import datetime as dt

import pytest

from novacrm_spark.config import Settings
from novacrm_spark.session import build_spark_session

LOADED_AT = dt.datetime(2025, 2, 1, 6, 0, 0)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """local[2], UTC, two shuffle partitions, no UI: one session per test run."""
    conf = {
        "spark.default.parallelism": "2",
        # Catalog tests (serving) would otherwise leave spark-warehouse/ in the repository.
        "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse")),
    }
    session = build_spark_session(Settings(master="local[2]", shuffle_partitions=2, spark_conf=conf))
    yield session
    session.stop()


@pytest.fixture
def loaded_at() -> dt.datetime:
    """The run timestamp injected into models under test."""
    return LOADED_AT


SAMPLE_INPUT = "data/raw"


@pytest.fixture(scope="session")
def built_warehouse(spark, tmp_path_factory):
    """A warehouse with every layer built from the bundled sample (once per test run).

    Tests may read it but must not write to it; copy it first if a test publishes.
    """
    from pathlib import Path

    from novacrm_spark.config import load_settings
    from novacrm_spark.run.runner import run_pipeline

    root = Path(__file__).resolve().parents[1]
    warehouse = tmp_path_factory.mktemp("built") / "warehouse"
    settings = load_settings(
        root / "conf" / "local.yaml",
        overrides={
            "input_dir": str(root / SAMPLE_INPUT),
            "warehouse": str(warehouse),
            "as_of_date": "2025-01-31",
            "master": "local[2]",
            "shuffle_partitions": 2,
        },
        environ={},
    )
    result = run_pipeline(spark, settings, layer="all", progress=lambda line: None, loaded_at=LOADED_AT)
    assert result.ok, result.summary()
    return warehouse
