"""Metrics observed on a write: keep Spark from losing them, and never wait for them without end.

A write's checks and counts are ``DataFrame.observe`` metrics, which
``Observation.get`` waits for. Spark 4.0 never delivers them when adaptive
execution finds a shuffle stage empty and replaces the plan above it with an
empty relation, dropping the node that collects them (SPARK-54620): a
month-partitioned table written from zero rows (a header-only usage file) then
blocked ``get`` forever. :func:`keep_observed_metrics` turns that one
optimisation off (it only skips work on empty stages); :func:`wait_for_metrics`
is the defence if a metric goes missing anyway: it waits a bounded time and
says so, and :func:`observed_or_counted` then counts the same aggregates with
a query of their own.

Example::

    >>> keep_observed_metrics(spark)
    >>> observed = df.observe(observation, F.count(F.lit(1)).alias("rows"))
    >>> observed.write.parquet(path)
    >>> wait_for_metrics(observation)        # {'rows': 42}, or None after METRICS_WAIT_SECONDS
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

from pyspark.sql import Column, DataFrame, SparkSession

EXCLUDED_RULES = "spark.sql.adaptive.optimizer.excludedRules"
EMPTY_RELATION_RULE = "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation"
# The write that fills an observation has finished before it is read; what is left is
# the listener's hand-over, normally milliseconds. A missing metric costs this long.
METRICS_WAIT_SECONDS = 120.0


def keep_observed_metrics(spark: SparkSession) -> None:
    """Exclude adaptive execution's empty-relation rule (kept with any rules already excluded).

    Example: ``"a.B"`` excluded before -> ``"a.B,org.apache.spark...AQEPropagateEmptyRelation"``.
    """
    current = spark.conf.get(EXCLUDED_RULES, None) or ""
    rules = [rule.strip() for rule in current.split(",") if rule.strip()]
    if EMPTY_RELATION_RULE not in rules:
        spark.conf.set(EXCLUDED_RULES, ",".join([*rules, EMPTY_RELATION_RULE]))


def wait_for_metrics(observation: Any, seconds: float = METRICS_WAIT_SECONDS) -> dict[str, Any] | None:
    """The observation's metrics, or None when they have not arrived within ``seconds``.

    ``Observation.get`` has no timeout, so it runs in a daemon thread; one that
    never returns is left blocked (it holds no lock of ours) and ends with the process.
    """
    box: dict[str, Any] = {}

    def fetch() -> None:
        try:
            box["metrics"] = dict(observation.get)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            box["error"] = exc

    waiter = threading.Thread(target=fetch, name="novacrm-metrics", daemon=True)
    waiter.start()
    waiter.join(seconds)
    if "error" in box:
        raise box["error"]
    return box.get("metrics")


def observed_or_counted(
    observation: Any, frame: DataFrame, metrics: Sequence[Column], on_missing: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """The values of ``metrics`` observed on ``frame``'s write; should they never arrive, one
    aggregation over ``frame`` computes them (``on_missing`` is told first). ``{}`` without an observation.

    Example: ``observed_or_counted(observation, flagged, [F.sum("bad").alias("bad")])`` -> ``{'bad': 0}``.
    """
    if observation is None:
        return {}
    values = wait_for_metrics(observation)
    if values is None:
        on_missing()
        values = frame.agg(*metrics).first().asDict()
    return values
