"""The ``novacrm`` command.

Examples::

    novacrm run --layer all --as-of 2025-01-31
    novacrm run --select fct_revenue+        # a model and everything downstream
    novacrm run --as-of 2025-01-31 --allow-stale   # build even when a source is stale
    novacrm run --log-format json            # one JSON object a line per event, for schedulers
    novacrm ls --select +churn_risk_view     # what a selection would build, in order
    novacrm show marts.churn_risk_view --limit 10
    novacrm vacuum --dry-run                 # files older table versions no longer need
    novacrm generate --accounts 150 --seed 7 --out data/raw
"""

from __future__ import annotations

import sys
from typing import Any

import click

from novacrm_spark.cli_options import date_option, date_text_option, make_settings, selection_options
from novacrm_spark.cli_options import settings_options, warehouse_errors
from novacrm_spark.errors import ConfigError, NovaCrmError, SelectionError, environment_problem
from novacrm_spark.extras import require_extras
from novacrm_spark.quality.cli import docs
from novacrm_spark.report.commands import report
from novacrm_spark.selection import model_graph, resolve
from novacrm_spark.serving.commands import register, serve, sql
from novacrm_spark.upkeep.commands import vacuum


class NovaCrmGroup(click.Group):
    """Expected errors print one clear line and exit 2, without a traceback.

    So do OS errors that are the machine's state (a read-only or full disk, no
    permission) wherever a command meets them; any other exception is a bug.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (NovaCrmError, OSError) as exc:
            message = error_message(exc)
            if message is None:
                raise
            fail(message)


def error_message(exc: BaseException) -> str | None:
    """The one line an expected error prints after ``error:``; None for any other exception (a bug)."""
    if isinstance(exc, NovaCrmError):
        return str(exc)
    problem = environment_problem(exc) if isinstance(exc, OSError) else None
    if problem is None:
        return None
    return f"{exc.filename}: {problem}" if exc.filename else problem


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group(cls=NovaCrmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="novacrm-spark")
def main() -> None:
    """NovaCRM Spark: build customer-intelligence Delta tables from NovaCRM raw exports.

    Layers: staging (cleaned source rows, bad rows quarantined) -> core
    (dimensions, MRR ledger, usage, tickets) -> marts (health, churn risk, NRR,
    cohorts, SLA). Settings come from --config (default conf/local.yaml when
    present), NOVACRM_* environment variables, then command-line flags.
    """


@main.command()
@settings_options
@selection_options
@date_text_option("--as-of", "as_of_date", help="As-of date (YYYY-MM-DD only). Default: latest date in the data.")
@click.option(
    "--allow-stale",
    is_flag=True,
    envvar="NOVACRM_ALLOW_STALE",
    help="Build even when a source is older than its freshness limit allows, or the as-of date lies after or "
    "before all the data (each problem becomes a WARN line). Also $NOVACRM_ALLOW_STALE=1.",
)
@click.option("--input", "input_dir", metavar="DIR", help="Folder holding the five raw_*.csv exports.")
@click.option(
    "--incremental",
    is_flag=True,
    help="Read only raw usage files newer than the last run's watermark and replace only the event "
    "months they touch in stg_usage_events and fct_usage (other selected models rebuild in full).",
)
@click.option(
    "--parallel-models",
    type=click.IntRange(min=1),
    metavar="N",
    help="Build up to N models at the same time once their inputs are staged (setting parallel_models; "
    "default 3). 1 builds them one after the other.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="NOVACRM_LOG_FORMAT",
    help="text: progress lines (a START and an END line per model). json: only one JSON object a line on "
    "stdout, per event: run_start, model_start, model_end, run_end, message, error (docs/run_results.md). "
    "Also $NOVACRM_LOG_FORMAT.",
)
def run(common, layer, select, exclude, as_of_date, allow_stale, input_dir, incremental, parallel_models,
        log_format) -> None:
    """Build tables: read, transform, check, then publish each one atomically.

    A model whose error-level checks fail is not published (readers keep the
    previous version) and every model downstream of it is skipped. Exits 1
    when any model failed. `novacrm ls` with the same --layer, --select and
    --exclude lists the models a run builds.

    Each source's newest record is checked against the as-of date (the
    freshness limits in its staging contract): a stale `error` source, or an
    as-of date outside the data, stops the run before anything is published
    (exit 2), unless --allow-stale.
    """
    from novacrm_spark.run.log import run_log
    from novacrm_spark.run.results import utc_now

    started_at, log = utc_now(), run_log(log_format, click.echo)
    try:
        ok = run_logged(log, started_at, common, layer, select, exclude, as_of_date, input_dir, incremental,
                        parallel_models, allow_stale)
    except Exception as exc:  # an error event too (JSON); stderr still gets the error: line, or the traceback
        log.error(error_message(exc) or f"unexpected {type(exc).__name__}; its traceback is on stderr")
        raise
    if not ok:
        sys.exit(1)


def run_logged(log, started_at, common, layer, select, exclude, as_of_date, input_dir, incremental,
               parallel_models, allow_stale=False) -> bool:
    """``novacrm run`` itself, told through ``log``; True when every model passed (or nothing was selected)."""
    # Settings and the selection first: a mistake in either is reported before Spark starts.
    settings = make_settings(
        common,
        as_of_date=as_of_date,
        input_dir=input_dir,
        parallel_models=parallel_models,
    )
    models = resolve(model_graph(), layer, select, exclude)
    if not models:
        log.message("Nothing to run: the selection matches no model (novacrm ls shows what a selection matches)")
        return True

    from novacrm_spark.run.lock import lock_path, run_lock
    from novacrm_spark.run.orphans import remove_orphans
    from novacrm_spark.run.results import new_run_id, start_timestamp
    from novacrm_spark.run.runner import run_pipeline
    from novacrm_spark.session import build_spark_session

    loaded_at = start_timestamp()
    log.run_id = run_id = new_run_id(loaded_at)
    # The run lock comes before Spark starts: a second run on this warehouse fails at once.
    with warehouse_errors(settings.warehouse), run_lock(settings.warehouse, run_id, f"{loaded_at:%Y-%m-%dT%H:%M:%S}Z") as stale:
        if stale is not None:
            log.message(f"Took over the run lock of {stale}, which ended without finishing")
        if lock_path(settings.warehouse) is not None and (removed := remove_orphans(settings.warehouse)):
            log.message(f"Removed {removed} file(s) or folder(s) that unfinished runs left in table folders")
        spark = build_spark_session(settings, common.verbose)
        result = run_pipeline(
            spark, settings, models=models, log=log, incremental=incremental, loaded_at=loaded_at,
            run_id=run_id, started_at=started_at, layer=layer, select=select, exclude=exclude,
            allow_stale=allow_stale,
        )  # fmt: skip
    return result.ok


@main.command("ls")
@selection_options
def list_models(layer, select, exclude) -> None:
    """List the models a run would build, in build order, one LAYER.NAME a line.

    Reads the model graph only: no Spark, no settings, no warehouse. `novacrm
    run` takes the same --layer, --select and --exclude.

    \b
    Selectors, as dbt writes them (NAME is a model, or a layer: all its models):
      NAME       the model
      +NAME      the model and every model upstream of it (what it reads)
      NAME+      the model and every model downstream of it (what reads it)
      +NAME+     both
      A,B        the models both A and B select
    Several selectors (repeat --select, or separate them by spaces) add up;
    --exclude removes what its selectors select.

    \b
    Examples:
      novacrm ls --select +churn_risk_view          # what churn_risk_view needs, and itself
      novacrm ls --select "fct_revenue+ fct_usage"  # two selectors
      novacrm ls --select stg_accounts+ --exclude marts
      novacrm ls --select fct_usage+,marts          # marts that read fct_usage
    """
    models = model_graph()
    names = resolve(models, layer, select, exclude)
    for name in names:
        click.echo(f"{models[name].layer}.{name}")
    if not names:
        click.echo("No model matches the selection", err=True)


@main.command()
@settings_options
@click.argument("table")
@click.option("--limit", default=20, show_default=True, help="Rows to print.")
def show(common, table, limit) -> None:
    """Print rows of a built table: NAME (a model) or LAYER.NAME (e.g. quarantine.accounts)."""
    from novacrm_spark.registry import all_models
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store
    from novacrm_spark.store.base import parse_table_name
    from novacrm_spark.store.manifest import PublishedTables

    settings = make_settings(common)
    models = all_models()
    layer, name = parse_table_name(table)  # before Spark starts: a bad name fails at once
    if layer is None:
        if name not in models:
            raise SelectionError(f"no model named {name!r}; use LAYER.NAME for quarantine tables")
        layer = models[name].layer
    spark = build_spark_session(settings, common.verbose)
    # The version the last complete run published (see the run manifest), never a half-published one.
    store = PublishedTables(open_store(spark, settings.warehouse, settings.engine))
    df = store.read(layer, name)
    # Rows in key order, so the same table always prints the same way.
    order = list(models[name].key) if name in models else df.columns
    click.echo(f"{layer}.{name} (version {store.version(layer, name)}):")
    df.orderBy(*order).show(limit, truncate=False)


@main.command()
@click.option("--accounts", default=150, show_default=True, help="Number of accounts.")
@click.option("--seed", default=7, show_default=True, help="Random seed: same seed, same bytes.")
@date_option("--as-of", "as_of", default="2025-01-31", show_default=True, help="Last date of the data.")
@date_option("--start", default="2023-01-01", show_default=True, help="First signup date.")
@click.option(
    "--dirty-rate",
    default=0.005,
    show_default=True,
    help="Share of rows given each kind of deliberate dirt (0 = clean data). The default "
    "stays under the pipeline's 5% quarantine threshold.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
def generate(accounts, seed, as_of, start, dirty_rate, out_dir) -> None:
    """Write five realistic raw NovaCRM exports (CSV) for demos, tests and benchmarks."""
    require_extras("generate")
    from novacrm_spark.datagen import GeneratorConfig
    from novacrm_spark.datagen import generate as generate_data

    try:
        config = GeneratorConfig(accounts=accounts, seed=seed, as_of=as_of, start=start, dirty_rate=dirty_rate)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    counts = generate_data(config, out_dir, progress=click.echo)
    for name, rows in counts.items():
        click.echo(f"{name:<28} {rows:>10,} rows")
    click.echo(f"Wrote {len(counts)} files to {out_dir}")


for command in (docs, report, serve, sql, register, vacuum):
    main.add_command(command)


if __name__ == "__main__":
    main()
