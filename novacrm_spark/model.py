"""What a model module needs to declare a model: the :func:`model` mark and :class:`StagingResult`.

This module sits at the bottom of the import graph (it imports no other part of
the package but :mod:`novacrm_spark.bookkeeping`), so model modules import it
and the registry finds them without either importing the other in a loop.

A model is a plain function; everything about it is read from the function
itself when :mod:`novacrm_spark.registry` scans the model packages:

- its table name is the function's name;
- its layer is its package (``novacrm_spark.models.core.fct_revenue`` -> ``core``);
- its inputs are its positional parameters, by name (raw sources are
  ``raw_<source>``, tables their model name), as dagster assets take theirs;
- its keyword-only parameters are run values (``as_of_date``, ``loaded_at``,
  ``products``);
- its key is the first unique check of its contract.

Example::

    @model
    def dim_account(stg_accounts: DataFrame, *, as_of_date: date) -> DataFrame:
        ...  # its docstring's first paragraph is the table's description
"""

from __future__ import annotations

from typing import Callable, NamedTuple, TypeVar

from pyspark.sql import DataFrame

from novacrm_spark.bookkeeping import ROWS_PER_KEY

# The attribute :func:`model` sets on a function; the registry collects functions that carry it.
MODEL_MARK = "__novacrm_model__"

Fn = TypeVar("Fn", bound=Callable)


def model(fn: Fn) -> Fn:
    """Mark ``fn`` as a model; the registry finds it when it scans the model packages.

    The function itself is returned unchanged, so tests call it directly.

    Example: ``@model`` above ``def fct_usage(stg_accounts, stg_usage_events, *, as_of_date)``
    declares the table ``fct_usage`` (layer from its package) reading two staging tables.
    """
    setattr(fn, MODEL_MARK, True)
    return fn


def is_model(obj: object) -> bool:
    """Whether ``obj`` is a function marked with :func:`model`."""
    return callable(obj) and getattr(obj, MODEL_MARK, False) is True


class StagingResult(NamedTuple):
    """What every staging model returns: its accepted and quarantined rows, both filtered from ``validated``.

    - ``accepted``: the staging table's columns, plus the bookkeeping columns
      :data:`~novacrm_spark.bookkeeping.ROWS_PER_KEY` and
      :data:`~novacrm_spark.bookkeeping.COLLAPSED` (never written);
    - ``quarantined``: the quarantine table's columns, plus ``COLLAPSED``;
    - ``validated``: every source row, parsed and validated once. The runner
      holds it (``persist``) while it writes both frames, so the raw file is
      read once;
    - ``rows_per_key``: the accepted frame's column counting accepted rows per
      key, which the write's unique check reads instead of a window of its own.

    Example::

        >>> result = stg_accounts(raw_accounts, loaded_at=loaded_at)
        >>> result.accepted.drop(*BOOKKEEPING).columns[:2]
        ['account_id', 'company_name']
    """

    accepted: DataFrame
    quarantined: DataFrame
    validated: DataFrame
    rows_per_key: str = ROWS_PER_KEY
