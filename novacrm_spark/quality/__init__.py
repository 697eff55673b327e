"""Data quality: table contracts (YAML beside each model) and the checks run before publishing.

Example::

    >>> from novacrm_spark.quality import default_contracts, run_checks
    >>> contract = default_contracts().for_model("stg_accounts")
    >>> [r.check for r in run_checks(contract, staged_df) if r.status == "error"]
    []
"""

from novacrm_spark.quality.checks import CheckResult, flagged, results, run_checks
from novacrm_spark.quality.contracts import Check, ContractError, Contracts, TableContract, default_contracts

__all__ = [
    "Check",
    "CheckResult",
    "ContractError",
    "Contracts",
    "TableContract",
    "default_contracts",
    "flagged",
    "results",
    "run_checks",
]
