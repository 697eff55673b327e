"""Data-quality checks run on every staged table before it is published."""

from novacrm_spark.quality.checks import CheckResult, run_checks

__all__ = ["CheckResult", "run_checks"]
