"""The report's user-facing error.

Example::

    >>> raise ReportError("mart marts.nrr_summary is not published in warehouse w; run `novacrm run` first")
"""

from novacrm_spark.errors import NovaCrmError


class ReportError(NovaCrmError):
    """The report cannot be built: marts missing, or the output cannot be written."""
