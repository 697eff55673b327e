"""The ``novacrm vacuum`` command.

Example::

    novacrm vacuum --dry-run                 # what would go, table by table
    novacrm vacuum                           # keep the readers' safety window (deleted_file_retention)
    novacrm vacuum --retain-hours 720        # keep 30 days of history
"""

from __future__ import annotations

import os
from contextlib import nullcontext

import click

from novacrm_spark.cli_options import make_settings, settings_options, warehouse_errors
from novacrm_spark.errors import ConfigError, NovaCrmError
from novacrm_spark.paths import is_local, local_path
from novacrm_spark.retention import interval_hours, retention_properties


@click.command()
@settings_options
@click.option("--retain-hours", type=click.IntRange(min=0), metavar="N", help=(
    "Keep the files of every version of the last N hours. Default and minimum: the readers' safety window, "
    "setting deleted_file_retention (default interval 7 days = 168 hours)."))
@click.option("--dry-run", is_flag=True, help="Print the files vacuum would remove, table by table; remove none.")
def vacuum(common, retain_hours, dry_run) -> None:
    """Remove the files no table version of the retention window needs, from every table of the warehouse.

    Runs delta-rs vacuum (embedded engine) or Delta's VACUUM (delta-spark) on
    every Delta table: the layers, the run manifest and run results. A file
    goes when it left its table more than N hours ago, or was never committed
    and is older than that; the newest version of every table stays whole, so
    readers (pinned to the last complete run) keep their files. A table the
    manifest pins to an older version whose files later commits removed (a run
    interrupted while publishing) is skipped until the next run repairs it.
    A retention shorter than the safety window is refused before anything
    is touched; a shorter window is a shorter deleted_file_retention setting.
    Takes the run lock of a local warehouse (not in a dry run).
    """
    settings = make_settings(common)
    window = interval_hours(settings.deleted_file_retention)
    hours = window if retain_hours is None else retain_hours
    if hours < window:
        raise ConfigError(
            f"--retain-hours {hours} is shorter than the readers' safety window, {window} hours (setting "
            f"deleted_file_retention: {settings.deleted_file_retention}): a reader of an older version, or a "
            "query still running, could lose its files. Nothing was vacuumed"
        )
    warehouse = settings.warehouse
    if is_local(warehouse) and not os.path.isdir(local_path(warehouse)):
        raise NovaCrmError(f"no warehouse at {warehouse}: nothing to vacuum (check --warehouse)")

    from novacrm_spark.run.lock import run_lock
    from novacrm_spark.run.results import new_run_id, start_timestamp
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store
    from novacrm_spark.upkeep.vacuum import total_line, vacuum_warehouse

    started = start_timestamp()
    # A real vacuum does not overlap a run on a local warehouse: its commits would move the run's tables.
    holder = (f"vacuum-{new_run_id(started)}", f"{started:%Y-%m-%dT%H:%M:%S}Z")
    with warehouse_errors(warehouse), nullcontext() if dry_run else run_lock(warehouse, *holder):
        spark = build_spark_session(settings, common.verbose)
        store = open_store(spark, warehouse, settings.engine, retention_properties(settings))
        outcomes = vacuum_warehouse(store, hours, dry_run, click.echo)
    click.echo(total_line(outcomes, dry_run))
