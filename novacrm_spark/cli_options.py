"""Options and settings loading shared by every ``novacrm`` command.

Command modules (``report``, ``serving``, ...) import from here rather than
from :mod:`novacrm_spark.cli`, which imports them to register their commands.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from novacrm_spark.config import DEFAULT_CONFIG, Settings, load_settings, parse_date
from novacrm_spark.errors import WarehouseError, environment_problem


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


def date_option(flag: str, *names: str, **kwargs: Any) -> Callable:
    """A ``YYYY-MM-DD`` option whose value is a ``date``; anything else (``20240131``, ``2024-02-30``) is an error."""

    def to_date(_ctx: click.Context, _param: click.Parameter, value: str | None):
        return None if value is None else parse_date(flag, value)

    return click.option(flag, *names, metavar="YYYY-MM-DD", callback=to_date, **kwargs)


def date_text_option(flag: str, *names: str, **kwargs: Any) -> Callable:
    """Like :func:`date_option`, but the value stays the checked text (a setting the loader parses)."""

    def checked(_ctx: click.Context, _param: click.Parameter, value: str | None):
        if value is not None:
            parse_date(flag, value)  # raises, naming the flag, on anything but YYYY-MM-DD
        return value

    return click.option(flag, *names, metavar="YYYY-MM-DD", callback=checked, **kwargs)


@contextmanager
def warehouse_errors(warehouse: str) -> Iterator[None]:
    """A read-only or full disk met outside the store (run results, watermark) names the warehouse.

    The store names the table it was writing; an OSError raised here without a
    file name (a failed ``write``) would otherwise name nothing.
    """
    try:
        yield
    except OSError as exc:
        problem = environment_problem(exc)
        if problem is None:
            raise
        raise WarehouseError(f"cannot write {exc.filename or f'to the warehouse {warehouse}'}: {problem}") from exc
