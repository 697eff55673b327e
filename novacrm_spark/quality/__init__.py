"""Data quality: table contracts (YAML beside each model) and the checks run before publishing.

* :mod:`~novacrm_spark.quality.contracts`: the contracts, read from each model's YAML;
* :mod:`~novacrm_spark.quality.checks`: the one check engine (flag columns, metrics, results);
* :mod:`~novacrm_spark.quality.docs`: the Markdown data catalog (``novacrm docs``).

Example::

    >>> from novacrm_spark.quality.checks import run_checks
    >>> from novacrm_spark.quality.contracts import default_contracts
    >>> contract = default_contracts().for_model("stg_accounts")
    >>> [r.check for r in run_checks(contract, staged_df) if r.status == "error"]
    []
"""
