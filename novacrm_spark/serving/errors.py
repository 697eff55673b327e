"""The serving commands' user-facing error."""

from novacrm_spark.errors import NovaCrmError


class ServingError(NovaCrmError):
    """A table cannot be served, a query failed, or the server cannot start or register."""
