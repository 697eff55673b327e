"""Table retention: the settings ``log_retention`` and ``deleted_file_retention`` as Delta table properties.

Both are Delta's own interval syntax, ``interval <whole number> <unit>`` with
the unit ``hours``, ``days`` or ``weeks`` (or ``hour``, ``day``, ``week``), in
lower case as written here: both engines parse exactly that. Every published
table carries them (``delta.logRetentionDuration``,
``delta.deletedFileRetentionDuration``); ``deleted_file_retention`` is also the
readers' safety window ``novacrm vacuum`` never goes below.

Example::

    >>> interval_hours(check_interval("deleted_file_retention", "interval 7 days"))
    168
    >>> check_interval("log_retention", "30 days")
    Traceback (most recent call last):
    ConfigError: log_retention must be Delta's interval syntax, e.g. 'interval 30 days' ...
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from novacrm_spark.errors import ConfigError

LOG_RETENTION = "delta.logRetentionDuration"
DELETED_FILE_RETENTION = "delta.deletedFileRetentionDuration"
# Delta's defaults, and ours.
DEFAULT_LOG_RETENTION = "interval 30 days"
DEFAULT_DELETED_FILE_RETENTION = "interval 7 days"
DEFAULT_PROPERTIES = {LOG_RETENTION: DEFAULT_LOG_RETENTION, DELETED_FILE_RETENTION: DEFAULT_DELETED_FILE_RETENTION}
# What Delta applies to a table without delta.deletedFileRetentionDuration (7 days).
DELTA_DEFAULT_WINDOW_HOURS = 168

HOURS_PER_UNIT = {"hour": 1, "day": 24, "week": 168}
CONFIG_INTERVAL = re.compile(r"interval (0|[1-9][0-9]{0,5}) (hour|day|week)s?")
MAX_HOURS = 3650 * 24  # ten years: far beyond any sensible retention, and far from any overflow
# The log's entries are what readers pinned by the run manifest time-travel with: never less than a day.
MIN_LOG_RETENTION_HOURS = 24
# What a table's own property may say (set by hand, say): any unit Delta takes, any case.
TABLE_INTERVAL = re.compile(r"\s*interval\s+([0-9]+)\s+(second|minute|hour|day|week)s?\s*", re.IGNORECASE)
SECONDS_PER_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


def check_interval(name: str, value: Any, minimum_hours: int = 0) -> str:
    """``value`` when it is a retention in the form both engines read, else :class:`ConfigError` naming ``name``."""
    text = value if isinstance(value, str) else None
    match = CONFIG_INTERVAL.fullmatch(text) if text is not None else None
    if match is None:
        raise ConfigError(
            f"{name} must be Delta's interval syntax, e.g. 'interval 30 days': 'interval', a whole number, "
            f"then hours, days or weeks, in lower case; got {value!r}"
        )
    hours = int(match.group(1)) * HOURS_PER_UNIT[match.group(2)]
    if not minimum_hours <= hours <= MAX_HOURS:
        raise ConfigError(f"{name} must be between {minimum_hours} hours and {MAX_HOURS // 24} days; got {value!r}")
    return text


def check_retention_settings(log_retention: Any, deleted_file_retention: Any) -> None:
    check_interval("log_retention", log_retention, MIN_LOG_RETENTION_HOURS)
    check_interval("deleted_file_retention", deleted_file_retention)


def interval_hours(text: str | None) -> int | None:
    """The hours of a retention interval (rounded up to a whole hour); None when it is not one Delta would read."""
    match = TABLE_INTERVAL.fullmatch(text) if text is not None else None
    if match is None:
        return None
    return math.ceil(int(match.group(1)) * SECONDS_PER_UNIT[match.group(2).lower()] / 3600)


def retention_properties(settings: Any) -> dict[str, str]:
    """The table properties every published table carries, from a run's :class:`~novacrm_spark.config.Settings`."""
    return {LOG_RETENTION: settings.log_retention, DELETED_FILE_RETENTION: settings.deleted_file_retention}


def table_window_hours(configuration: Mapping[str, str | None]) -> int:
    """The vacuum window a table asks for itself: its delta.deletedFileRetentionDuration, else Delta's 7 days."""
    own = interval_hours(configuration.get(DELETED_FILE_RETENTION))
    return DELTA_DEFAULT_WINDOW_HOURS if own is None else own
