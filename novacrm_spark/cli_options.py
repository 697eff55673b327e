"""Options and settings loading shared by every ``novacrm`` command.

Command modules (``report``, ``serving``, ...) import from here rather than
from :mod:`novacrm_spark.cli`, which imports them to register their commands.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from novacrm_spark.config import DEFAULT_CONFIG, Settings, load_settings, parse_date, remote_url
from novacrm_spark.errors import WarehouseError, environment_problem
from novacrm_spark.extras import require_extras
from novacrm_spark.paths import is_local, local_path
from novacrm_spark.selection import check_selectors, model_graph


@dataclass(frozen=True)
class CommonOptions:
    """The options every Spark command shares: where the settings come from, and how loud Spark is."""

    config_file: str | None = None
    warehouse: str | None = None
    engine: str | None = None
    master: str | None = None
    remote: str | None = None
    verbose: bool = False


COMMON_OPTIONS = (
    click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        envvar="NOVACRM_CONFIG",
        help=f"YAML settings file. Default: {DEFAULT_CONFIG} when it exists.",
    ),
    click.option("--warehouse", help="Root folder (or URI) of the Delta tables."),
    click.option("--engine", type=click.Choice(["auto", "embedded", "delta-spark"]), help="Delta engine."),
    click.option("--master", help="Spark master, e.g. local[2] (ignored under spark-submit and --remote)."),
    click.option(
        "--remote",
        metavar="URL",
        help="Spark Connect server, e.g. sc://host:15002 (setting remote, $NOVACRM_REMOTE; pyspark's own "
        "$SPARK_REMOTE works too). Spark runs there; this process is only its client.",
    ),
    click.option("--verbose", is_flag=True, help="Show Spark's own start-up banner and log lines."),
)


def settings_options(fn: Callable) -> Callable:
    """Add :data:`COMMON_OPTIONS` to a command, which receives them as one ``common`` argument."""

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        require_extras("spark")
        common = CommonOptions(**{f.name: kwargs.pop(f.name) for f in dataclasses.fields(CommonOptions)})
        return fn(common=common, **kwargs)

    for option in reversed(COMMON_OPTIONS):
        command = option(command)
    return command


def make_settings(common: CommonOptions, **overrides: Any) -> Settings:
    """Settings from the config file, the environment, then the common options and ``overrides``."""
    config_file = common.config_file
    if config_file is None and Path(DEFAULT_CONFIG).is_file():
        config_file = DEFAULT_CONFIG
    given = {"warehouse": common.warehouse, "engine": common.engine, "master": common.master, "remote": common.remote}
    settings = load_settings(config_file, {**given, **overrides})
    if remote_url(settings) is None:
        return settings
    # A Spark Connect server resolves a relative path against its own working folder, not ours.
    absolute = {name: os.path.abspath(local_path(getattr(settings, name)))
                for name in ("warehouse", "input_dir") if is_local(getattr(settings, name))}
    return dataclasses.replace(settings, **absolute)


def selection_options(fn: Callable) -> Callable:
    """``--layer``, ``--select`` and ``--exclude``, the selectors checked as the options are read.

    A bad selector is one ``error:`` line before the command runs (so before it
    starts Spark, or even imports pyspark).
    """

    def checked(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_selectors(model_graph(), f"--{param.name}", values)) if values else ()

    options = (
        click.option("--layer", type=click.Choice(["staging", "core", "marts", "all"]), default="all",
                     show_default=True, help="Only models of this layer (with --select: those it selects)."),
        click.option("--select", "select", multiple=True, metavar="SELECTOR", callback=checked,
                     help="Models to build: NAME, +NAME (and its upstream), NAME+ (and its downstream), +NAME+; "
                     "NAME may be a layer. Repeat it or separate selectors by spaces; A,B is what both select. "
                     "See novacrm ls --help."),
        click.option("--exclude", "exclude", multiple=True, metavar="SELECTOR", callback=checked,
                     help="Leave out what this selects (same syntax as --select)."),
    )
    for option in reversed(options):
        fn = option(fn)
    return fn


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
