"""Options and settings loading shared by every ``novacrm`` command.

Command modules (``report``, ``serving``, ...) import from here rather than
from :mod:`novacrm_spark.cli`, which imports them to register their commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from novacrm_spark.config import DEFAULT_CONFIG, Settings, load_settings


def settings_options(fn: Callable) -> Callable:
    """Options shared by every command that needs settings."""
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False),
            envvar="NOVACRM_CONFIG",
            help=f"YAML settings file. Default: {DEFAULT_CONFIG} when it exists.",
        ),
        click.option("--warehouse", help="Root folder (or URI) of the Delta tables."),
        click.option("--engine", type=click.Choice(["auto", "embedded", "delta-spark"]), help="Delta engine."),
        click.option("--master", help="Spark master, e.g. local[2] (ignored under spark-submit)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def make_settings(config_file: str | None, **overrides: Any) -> Settings:
    if config_file is None and Path(DEFAULT_CONFIG).is_file():
        config_file = DEFAULT_CONFIG
    return load_settings(config_file, overrides)
