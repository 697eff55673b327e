"""``novacrm serve``, ``novacrm sql`` and ``novacrm register``: the tables for BI tools and scripts.

Examples::

    novacrm serve --port 10000                      # JDBC/ODBC: jdbc:hive2://localhost:10000/default
    novacrm sql "SELECT risk_level, count(*) FROM marts.churn_risk_view GROUP BY risk_level" --format csv
    novacrm register --config conf/cluster.yaml     # delta-spark: <catalog>.<layer>.<table> entries

Every published table is named ``<layer>.<table>`` (``staging``, ``core``,
``marts``, ``quarantine``), e.g. ``marts.churn_risk_view`` or ``quarantine.accounts``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile

import click

from novacrm_spark.cli_options import make_settings, settings_options
from novacrm_spark.config import Settings, remote_url
from novacrm_spark.errors import ServingError
from novacrm_spark.paths import is_local, local_path
from novacrm_spark.serving import FORMATS


def serving_settings(settings: Settings, scratch_dir: str, host: str = "localhost", auth=None) -> Settings:
    """The settings of a serving session: Spark's own catalog in memory, its folders in ``scratch_dir``.

    The driver's own sockets (RPC, block manager) bind to ``host`` too, and there is no UI.
    ``auth`` (an :class:`~novacrm_spark.serving.auth.AuthMode`) adds what its check needs on the driver.
    """
    from novacrm_spark.serving.auth import bind_address

    address = bind_address(host)
    conf = {
        "spark.sql.warehouse.dir": os.path.join(scratch_dir, "spark-warehouse"),
        **settings.spark_conf,
        # The views live in this process only; a Hive metastore would leave metastore_db/ behind.
        "spark.sql.catalogImplementation": "in-memory",
        "spark.driver.bindAddress": address,
        "spark.driver.host": address,
        "spark.ui.enabled": "false",
        # One Spark session per JDBC connection: each is guarded (a shared one would be ours).
        "spark.sql.hive.thriftServer.singleSession": "false",
    }
    if auth is not None:
        conf.update(auth.driver_conf(scratch_dir, conf))
    return dataclasses.replace(settings, spark_conf=conf)


def require_classic(settings: Settings, command: str) -> None:
    """``serve`` and ``sql`` guard every statement inside Spark's driver: a Spark Connect client has none."""
    if remote_url(settings) is not None:
        raise ServingError(
            f"novacrm {command} needs a classic Spark session: its read-only guard runs in Spark's driver, "
            "which a Spark Connect client cannot reach. Unset --remote/NOVACRM_REMOTE/SPARK_REMOTE, or over "
            "Spark Connect `novacrm register` the tables and query them through the platform's catalog"
        )


def check_warehouse(warehouse: str) -> None:
    """A local warehouse folder that does not exist is a typo, not an empty warehouse."""
    if not is_local(warehouse):
        return
    path = local_path(warehouse)
    if not os.path.isdir(path):
        raise ServingError(f"warehouse {path} does not exist; run `novacrm run` first or pass --warehouse")


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


# --- serve ----------------------------------------------------------------------------


@click.command()
@settings_options
@click.option("--port", default=10000, show_default=True, type=int, help="TCP port of the JDBC/ODBC server.")
@click.option(
    "--host",
    default="localhost",
    show_default=True,
    help="Address every socket of the server listens on (JDBC port and Spark's own).",
)
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="File whose first line is the password clients must give (else $NOVACRM_SERVE_PASSWORD; "
    "user name $NOVACRM_SERVE_USER, default novacrm).",
)
@click.option("--no-auth", is_flag=True, help="Accept any client without credentials (loopback host only).")
@click.option(
    "--poll-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.2),
    help="How often to look for newly published table versions.",
)
def serve(common, port, host, password_file, no_auth, poll_seconds) -> None:
    """Serve every published table, read-only, over JDBC/ODBC (Spark Thrift server, HiveServer2 protocol).

    Tables are named LAYER.TABLE (e.g. marts.churn_risk_view). Clients log in
    with the serving user name and password: `beeline -u
    jdbc:hive2://localhost:10000/default -n novacrm -p "$NOVACRM_SERVE_PASSWORD"`,
    or a BI tool's Spark/Hive connector. Only queries, SHOW, DESCRIBE, EXPLAIN,
    USE and SET of spark.sql settings are accepted. A new table version is
    picked up within --poll-seconds; `kill -HUP <pid>` refreshes at once.
    Ctrl-C or SIGTERM stops the server.
    """
    from novacrm_spark.serving.auth import choose_auth
    from novacrm_spark.serving.daemon import Signals, serve_until_stopped
    from novacrm_spark.serving.thrift import check_port_free

    settings = make_settings(common)
    require_classic(settings, "serve")
    check_warehouse(settings.warehouse)
    auth = choose_auth(host, no_auth, password_file, settings.spark_conf)
    check_port_free(host, port)  # before the slow Spark start
    if auth.kind == "none":
        _echo_err(f"warning: --no-auth: any local user or program can query the tables on {host}:{port}")
    signals = Signals.install()
    scratch = tempfile.mkdtemp(prefix="novacrm-serve-")
    spark = server = None
    try:
        try:
            spark, server, catalog = _start(settings, host, port, scratch, poll_seconds, auth, common.verbose)
            signals.claim()
            stopped_by = signals.stop or serve_until_stopped(catalog.refresh, signals, poll_seconds, click.echo)
        except KeyboardInterrupt:  # Ctrl-C while PySpark's own SIGINT handler was in place (start-up)
            stopped_by = "SIGINT"
        click.echo(f"{stopped_by} received: stopping the server")
    finally:
        if server is not None:
            server.stop()
        if spark is not None:
            spark.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        signals.restore()
    click.echo("Stopped.")


def _start(settings: Settings, host: str, port: int, scratch: str, poll_seconds: float, auth, verbose: bool):
    from novacrm_spark.serving.catalog import ServingCatalog
    from novacrm_spark.serving.guard import install_read_only_guard
    from novacrm_spark.serving.thrift import start_thrift_server
    from novacrm_spark.store.base import LAYERS
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store

    spark = build_spark_session(serving_settings(settings, scratch, host, auth), verbose)
    try:
        store = open_store(spark, settings.warehouse, settings.engine)
        catalog = ServingCatalog(spark, store, scratch, log=_echo_err)
        catalog.refresh()
        install_read_only_guard(spark, settings.warehouse, LAYERS)  # every JDBC session from now on
        server = start_thrift_server(spark, host, port, scratch, auth)
    except BaseException:
        spark.stop()
        raise
    click.echo(f"Serving {len(catalog.served)} tables of {settings.warehouse} (engine {store.engine}):")
    for line in table_listing(catalog.served):
        click.echo(f"  {line}")
    if not catalog.served:
        click.echo("  (none yet: tables are picked up as soon as they are published)")
    click.echo(f"JDBC URL: {server.url}")
    login = f" -n {auth.credentials.user} -p <password>" if auth.credentials else ""
    click.echo(f"  beeline -u {server.url}{login}  (read-only: queries, SHOW, DESCRIBE, EXPLAIN)")
    click.echo(
        f"New table versions are picked up within {poll_seconds:g}s; "
        f"kill -HUP {os.getpid()} refreshes now; Ctrl-C or kill {os.getpid()} stops."
    )
    return spark, server, catalog


def table_listing(tables) -> list[str]:
    """``layer: a, b, c`` lines, one per layer, in layer order."""
    from novacrm_spark.store.base import LAYERS

    by_layer: dict[str, list[str]] = {}
    for table in sorted(tables):
        by_layer.setdefault(table.layer, []).append(table.name)
    order = [layer for layer in LAYERS if layer in by_layer] + sorted(set(by_layer) - set(LAYERS))
    return [f"{layer}: {', '.join(by_layer[layer])}" for layer in order]


# --- sql --------------------------------------------------------------------------------


@click.command("sql")
@settings_options
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(min=1), help="Most rows to print.")
def sql(common, query, fmt, limit) -> None:
    """Run one Spark SQL QUERY over the published tables and print the result.

    Tables are named LAYER.TABLE, as in `novacrm serve`, e.g.
    `novacrm sql "SELECT risk_level, count(*) AS n FROM marts.churn_risk_view GROUP BY risk_level"`.
    QUERY `-` reads the query from standard input. Read-only: a statement that
    would write, create, drop, cache, load or read files directly is refused (exit 2).
    """
    from novacrm_spark.serving.catalog import ServingCatalog, require_tables
    from novacrm_spark.serving.guard import install_read_only_guard
    from novacrm_spark.serving.output import answer, quiet_query_error_logs
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store
    from novacrm_spark.store.base import LAYERS

    if query == "-":
        query = sys.stdin.read()
    settings = make_settings(common)
    require_classic(settings, "sql")
    check_warehouse(settings.warehouse)
    scratch = tempfile.mkdtemp(prefix="novacrm-sql-")
    try:
        spark = build_spark_session(serving_settings(settings, scratch), common.verbose)
        store = open_store(spark, settings.warehouse, settings.engine)
        with ServingCatalog(spark, store, scratch, log=_echo_err) as catalog:
            catalog.refresh()
            require_tables(catalog)
            quiet_query_error_logs()
            result = answer(install_read_only_guard(spark, settings.warehouse, LAYERS), query, fmt, limit)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    click.echo(result.text)
    if result.truncated:
        _echo_err(f"(only the first {limit} rows are shown; raise --limit for more)")


# --- register --------------------------------------------------------------------------------


@click.command()
@settings_options
@click.option("--catalog", "catalog_override", metavar="NAME", help="Catalog to use instead of catalog.name.")
@click.option("--dry-run", is_flag=True, help="Print the SQL statements instead of running them (any engine).")
def register(common, catalog_override, dry_run) -> None:
    """Create catalog entries (schemas and Delta tables) for every published table: delta-spark only.

    For each layer, CREATE SCHEMA IF NOT EXISTS <catalog>.<layer>; for each
    table, CREATE TABLE IF NOT EXISTS <catalog>.<layer>.<table> USING DELTA
    LOCATION '<path>' with the contract's description as its comment, so
    Databricks SQL / Unity Catalog / Hive metastore users see tables by name.
    """
    from novacrm_spark.registry import all_models
    from novacrm_spark.serving.register import (
        catalog_name,
        register_statements,
        register_tables,
        registered_tables,
        require_delta_spark,
    )
    from novacrm_spark.session import build_spark_session
    from novacrm_spark.store import open_store

    settings = make_settings(common)
    if not dry_run and settings.engine == "embedded":
        require_delta_spark(settings.engine)  # says why, before a Spark start
    catalog = catalog_name({"name": catalog_override} if catalog_override else settings.catalog)
    spark = build_spark_session(settings, common.verbose)
    store = open_store(spark, settings.warehouse, settings.engine)
    if not dry_run:
        require_delta_spark(store.engine)
    tables = registered_tables(store, all_models())
    if not tables:
        raise ServingError(f"no published tables under {settings.warehouse}; run `novacrm run` first")
    statements = register_statements(catalog, tables)
    if dry_run:
        for statement in statements:
            click.echo(f"{statement};")
        return
    register_tables(spark.sql, statements)
    click.echo(f"Registered {len(tables)} tables in catalog {catalog} ({len(statements)} statements).")
