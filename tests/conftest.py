"""Shared fixtures: one local Spark session for the whole test run."""

from __future__ import annotations

import datetime as dt

import pytest

from novacrm_spark.config import Settings
from novacrm_spark.session import build_spark_session

LOADED_AT = dt.datetime(2025, 2, 1, 6, 0, 0)


@pytest.fixture(scope="session")
def spark():
    """local[2], UTC, two shuffle partitions, no UI: one session per test run."""
    session = build_spark_session(
        Settings(master="local[2]", shuffle_partitions=2, spark_conf={"spark.default.parallelism": "2"})
    )
    yield session
    session.stop()


@pytest.fixture
def loaded_at() -> dt.datetime:
    """The run timestamp injected into models under test."""
    return LOADED_AT
