"""One exception hierarchy for the project.

Every error a user can cause (a bad config value, a bad input file, a failed
data-quality check) is a :class:`NovaCrmError`; the CLI prints its message and
exits non-zero without a traceback. Anything else is a bug and keeps its
traceback.
"""


class NovaCrmError(Exception):
    """Base class of every expected, user-facing error."""


class ConfigError(NovaCrmError):
    """A setting is missing or has a value we cannot use."""


class InputFileError(NovaCrmError):
    """A raw input file is missing, empty, not CSV/UTF-8, or has the wrong columns."""


class SelectionError(NovaCrmError):
    """A ``--select`` or ``--layer`` names no known model."""


class TableNotFoundError(NovaCrmError):
    """A table was read before it was ever published."""


class QualityCheckError(NovaCrmError):
    """An ``error``-severity data-quality check failed; nothing was published."""
