"""`novacrm sql`, the serving catalog (one view per published table) and `novacrm register`'s SQL."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable
from pyspark.sql.types import DateType, DecimalType, LongType, StringType, StructField, StructType

from novacrm_spark.cli import main
from novacrm_spark.errors import ServingError
from novacrm_spark.registry import all_models
from novacrm_spark.serving.catalog import Change, ServingCatalog
from novacrm_spark.serving.tables import TableRef, registry_tables, table_comment
from novacrm_spark.serving.views import FileGroup, file_groups, select_sql, view_sql
from novacrm_spark.serving.output import csv_value, render
from novacrm_spark.serving.register import (
    RegisteredTable,
    catalog_name,
    register_statements,
    register_tables,
    require_delta_spark,
)
from novacrm_spark.store import open_store

RISK_QUERY = "SELECT risk_level, count(*) AS n FROM marts.churn_risk_view GROUP BY risk_level ORDER BY risk_level"


def delta_risk_counts(warehouse: Path) -> dict[str, int]:
    """The expected answer, read with delta-rs (not Spark, not our views)."""
    table = DeltaTable(str(warehouse / "marts" / "churn_risk_view")).to_pyarrow_table(columns=["risk_level"])
    return dict(Counter(table.column("risk_level").to_pylist()))


def row_count(warehouse: Path, layer: str, table: str) -> int:
    return DeltaTable(str(warehouse / layer / table)).to_pyarrow_table().num_rows


def run_sql(warehouse: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["sql", *args, "--warehouse", str(warehouse)], input=stdin, catch_exceptions=False)


@pytest.fixture
def keep_session_conf(spark):
    """In-process CLI runs apply conf/local.yaml to the shared session; put the fixture's values back."""
    saved = {key: spark.conf.get(key) for key in ("spark.sql.shuffle.partitions",)}
    yield
    for key, value in saved.items():
        spark.conf.set(key, value)


# --- pure SQL text ------------------------------------------------------------------------------


def test_file_groups_name_exactly_the_given_files_one_glob_per_folder():
    files = [
        "file:/w/marts/t/part-b.parquet",
        "file:/w/marts/t/part-a.parquet",
        "file:/w/marts/t/sub%20dir/part-c.parquet",  # Spark lists URIs: %20 is a space
    ]
    assert [g.source for g in file_groups(files)] == [
        "parquet.`file:/w/marts/t/{part-a.parquet,part-b.parquet}`",
        "parquet.`file:/w/marts/t/sub dir/{part-c.parquet}`",
    ]


def test_file_groups_escape_glob_characters_and_backticks():
    [group] = file_groups(["file:/w/a{1},b/x`y[1].parquet"])
    assert group.source == r"parquet.`file:/w/a\{1\}\,b/{x``y\[1\].parquet}`"


def test_partition_columns_come_from_folder_names_as_typed_literals():
    schema = StructType([StructField("n", LongType()), StructField("event_month", DateType())])
    files = [
        "file:/w/core/fct_usage/event_month=2024-03-01/part-1.parquet",
        "file:/w/core/fct_usage/event_month=__HIVE_DEFAULT_PARTITION__/part-2.parquet",
    ]
    groups = file_groups(files, schema.fieldNames())
    assert [g.partition for g in groups] == [(("event_month", "2024-03-01"),), (("event_month", None),)]
    assert select_sql(schema, groups) == (
        "SELECT `n`, CAST('2024-03-01' AS date) AS `event_month` "
        "FROM parquet.`file:/w/core/fct_usage/event_month=2024-03-01/{part-1.parquet}` UNION ALL "
        "SELECT `n`, CAST(NULL AS date) AS `event_month` "
        "FROM parquet.`file:/w/core/fct_usage/event_month=__HIVE_DEFAULT_PARTITION__/{part-2.parquet}`"
    )
    # a folder named like a partition of a column the table lacks is just a folder
    assert file_groups(["file:/w/x=1/t/part-1.parquet"], ["n"])[0].partition == ()


def test_view_sql_quotes_names_and_carries_comments():
    schema = StructType(
        [
            StructField("account_id", StringType(), metadata={"comment": "the account's id"}),
            StructField("weird name", LongType()),
        ]
    )
    query = select_sql(schema, [FileGroup("/w", ("a.parquet",))])
    assert query == "SELECT `account_id`, `weird name` FROM parquet.`/w/{a.parquet}`"
    assert view_sql(TableRef("marts", "t"), schema, query, "One row per account.") == (
        "CREATE OR REPLACE VIEW `marts`.`t` (`account_id` COMMENT 'the account\\'s id', `weird name`) "
        "COMMENT 'One row per account.' AS " + query
    )


def test_select_sql_without_files_is_typed_and_empty():
    schema = StructType([StructField("a", DecimalType(18, 2)), StructField("b", StringType())])
    assert select_sql(schema, []) == (
        "SELECT CAST(NULL AS decimal(18,2)) AS `a`, CAST(NULL AS string) AS `b` WHERE false"
    )


def test_every_model_and_quarantine_table_is_served_with_its_description():
    models = all_models()
    tables = registry_tables(models)
    assert TableRef("marts", "churn_risk_view") in tables
    assert TableRef("quarantine", "accounts") in tables
    assert len(tables) == len(models) + sum(1 for m in models.values() if m.quarantine_table)
    assert table_comment(TableRef("marts", "churn_risk_view"), models) == " ".join(
        models["churn_risk_view"].description.split()
    )
    assert "stg_accounts" in table_comment(TableRef("quarantine", "accounts"), models)


def test_csv_values_match_sparks_text_forms():
    import datetime as dt
    from decimal import Decimal

    assert [csv_value(v) for v in (None, True, Decimal("1.50"), dt.date(2025, 1, 31), dt.datetime(2025, 2, 1, 6))] == [
        "",
        "true",
        "1.50",
        "2025-01-31",
        "2025-02-01 06:00:00",
    ]


# --- the catalog against real Delta tables ------------------------------------------------------


@pytest.fixture
def small_store(spark, tmp_path):
    return open_store(spark, str(tmp_path / "warehouse"), "embedded")


def test_view_reads_only_the_current_version_and_follows_new_versions(spark, small_store, tmp_path):
    frame = spark.range(12).selectExpr("id", "CAST(id % 3 AS STRING) AS k")
    small_store.overwrite(frame.repartition(3), "marts", "t", column_comments={"k": "a code"})
    small_store.overwrite(frame.where("id < 4").repartition(2), "marts", "t", column_comments={"k": "a code"})
    with ServingCatalog(spark, small_store, str(tmp_path / "scratch"), models={}) as catalog:
        assert catalog.refresh() == [Change(TableRef("marts", "t"), None, 1)]
        # Version 0's files are still in the folder: a view over the folder would count 16.
        assert spark.sql("SELECT count(*) FROM marts.t").first()[0] == 4
        comments = {r.col_name: r.comment for r in spark.sql("DESCRIBE marts.t").collect()}
        assert comments["k"] == "a code"

        assert catalog.refresh() == []  # nothing new: nothing re-registered
        small_store.overwrite(frame.where("id >= 10"), "marts", "t")
        assert catalog.refresh() == [Change(TableRef("marts", "t"), 1, 2)]
        assert sorted(r.id for r in spark.sql("SELECT id FROM marts.t").collect()) == [10, 11]
    assert not spark.catalog.databaseExists("marts")  # close() removed what it created


def test_partitioned_table_is_served_with_its_partition_column(spark, small_store, tmp_path):
    import inspect

    if "partition_by" not in inspect.signature(small_store.stage).parameters:
        pytest.skip("this store writes no partitioned tables")
    frame = spark.range(9).selectExpr("id", "date_add(DATE'2024-01-01', CAST(id % 3 AS INT) * 31) AS month")
    small_store.overwrite(frame.where("id < 3"), "core", "p", partition_by=["month"])
    small_store.overwrite(frame, "core", "p", partition_by=["month"])
    with ServingCatalog(spark, small_store, str(tmp_path / "scratch"), models={}) as catalog:
        catalog.refresh()
        served = spark.sql("SELECT id, month FROM core.p ORDER BY id").collect()
        expected = frame.orderBy("id").collect()
        assert [(r.id, r.month) for r in served] == [(r.id, r.month) for r in expected]
        assert spark.table("core.p").schema["month"].dataType == DateType()


def test_empty_table_is_served_with_its_columns(spark, small_store, tmp_path):
    small_store.overwrite(spark.range(3).selectExpr("id", "'x' AS s").limit(0), "quarantine", "accounts")
    with ServingCatalog(spark, small_store, str(tmp_path / "scratch"), models={}) as catalog:
        catalog.refresh()
        result = spark.sql("SELECT * FROM quarantine.accounts")
        assert result.columns == ["id", "s"] and result.count() == 0


def test_a_table_whose_folder_is_removed_stops_being_served(spark, small_store, tmp_path):
    import shutil

    small_store.overwrite(spark.range(2), "core", "gone_soon")
    with ServingCatalog(spark, small_store, str(tmp_path / "scratch"), models={}) as catalog:
        catalog.refresh()
        shutil.rmtree(small_store.table_path("core", "gone_soon"))
        assert catalog.refresh() == [Change(TableRef("core", "gone_soon"), 0, None)]
        assert not spark.catalog.tableExists("core.gone_soon")


def test_render_formats(spark):
    frame = spark.sql("SELECT * FROM VALUES ('a', 1.50BD, NULL), ('b', 2.00BD, true) AS t(s, m, f)")
    assert render(frame, "csv").text == "s,m,f\na,1.50,\nb,2.00,true"
    assert json.loads(render(frame, "json").text) == [
        {"s": "a", "m": 1.5, "f": None},
        {"s": "b", "m": 2.0, "f": True},
    ]
    assert '"m":1.50' in render(frame, "json").text  # decimals keep their scale
    limited = render(frame, "csv", limit=1)
    assert limited.text == "s,m,f\na,1.50," and limited.truncated


# --- novacrm sql on the bundled sample -------------------------------------------------------


def parse_grid(text: str) -> list[list[str]]:
    """Rows of Spark's ``show`` grid (header first)."""
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("|")]


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_sql_prints_the_churn_risk_counts_the_table_holds(built_warehouse, keep_session_conf, fmt):
    expected = delta_risk_counts(built_warehouse)
    result = run_sql(built_warehouse, RISK_QUERY, "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "table":
        header, *rows = parse_grid(result.stdout)
        assert header == ["risk_level", "n"]
        got = {level: int(n) for level, n in rows}
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        got = {row["risk_level"]: int(row["n"]) for row in rows}
    else:
        got = {row["risk_level"]: row["n"] for row in json.loads(result.stdout)}
    assert got == expected
    assert sum(got.values()) == row_count(built_warehouse, "marts", "churn_risk_view")


def test_sql_sees_every_layer_by_name(built_warehouse, keep_session_conf):
    result = run_sql(
        built_warehouse,
        "SELECT (SELECT count(*) FROM staging.stg_accounts) AS s, (SELECT count(*) FROM core.dim_account) AS c, "
        "(SELECT count(*) FROM quarantine.accounts) AS q, (SELECT count(*) FROM core.fct_usage) AS u",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["s"] == row_count(built_warehouse, "staging", "stg_accounts")
    assert row["c"] == row_count(built_warehouse, "core", "dim_account")
    assert row["q"] == row_count(built_warehouse, "quarantine", "accounts")
    assert row["u"] == row_count(built_warehouse, "core", "fct_usage")  # partitioned when built incrementally


def test_sql_limit_cuts_the_output_and_says_so(built_warehouse, keep_session_conf):
    query = "SELECT account_id FROM marts.churn_risk_view ORDER BY account_id"
    result = run_sql(built_warehouse, query, "--format", "csv", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 4  # header + 3 rows
    assert "only the first 3 rows" in result.stderr


def test_sql_reads_the_query_from_stdin(built_warehouse, keep_session_conf):
    result = run_sql(built_warehouse, "-", "--format", "json", stdin="SELECT count(*) AS n\nFROM marts.nrr_summary\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"n": row_count(built_warehouse, "marts", "nrr_summary")}]


def test_sql_unknown_table_is_one_clear_error(built_warehouse, keep_session_conf):
    result = run_sql(built_warehouse, "SELECT * FROM marts.no_such_table")
    assert result.exit_code == 2
    assert "query failed" in result.stderr and "TABLE_OR_VIEW_NOT_FOUND" in result.stderr
    assert "Traceback" not in result.output


def test_sql_on_a_missing_or_empty_warehouse_says_so(tmp_path):
    missing = CliRunner().invoke(main, ["sql", "SELECT 1", "--warehouse", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(main, ["sql", "SELECT 1", "--warehouse", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "no published tables" in empty.stderr


def test_sql_as_a_separate_process_answers_and_exits(built_warehouse, tmp_path):
    """What a script does: the real command line, bounded in time, nothing left in the working folder."""
    command = [sys.executable, "-c", "from novacrm_spark.cli import main; main()", "sql", RISK_QUERY]
    command += ["--format", "csv", "--warehouse", str(built_warehouse), "--master", "local[1]"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {row["risk_level"]: int(row["n"]) for row in rows} == delta_risk_counts(built_warehouse)
    assert sorted(os.listdir(tmp_path)) == []  # no derby.log, metastore_db or spark-warehouse left behind


# --- novacrm register ----------------------------------------------------------------------


def test_register_statements_create_schemas_then_commented_delta_tables():
    tables = [
        RegisteredTable("marts", "nrr_summary", "s3://lake/wh/marts/nrr_summary", "One row per month."),
        RegisteredTable("staging", "stg_accounts", "s3://lake/wh/staging/stg_accounts", "It's accepted."),
        RegisteredTable("quarantine", "accounts", "s3://lake/wh/quarantine/accounts", ""),
    ]
    statements = register_statements("novacrm", tables)
    assert statements[:3] == [
        "CREATE SCHEMA IF NOT EXISTS `novacrm`.`staging` COMMENT 'NovaCRM staging: one row per accepted source "
        "record, cleaned and typed.'",
        "CREATE SCHEMA IF NOT EXISTS `novacrm`.`marts` COMMENT 'NovaCRM marts: health scores, churn risk, NRR, "
        "revenue cohorts, SLA adherence.'",
        "CREATE SCHEMA IF NOT EXISTS `novacrm`.`quarantine` COMMENT 'NovaCRM quarantine: raw rows rejected by "
        "staging, with the reason.'",
    ]
    assert statements[3:] == [
        "CREATE TABLE IF NOT EXISTS `novacrm`.`staging`.`stg_accounts` USING DELTA "
        "LOCATION 's3://lake/wh/staging/stg_accounts' COMMENT 'It\\'s accepted.'",
        "COMMENT ON TABLE `novacrm`.`staging`.`stg_accounts` IS 'It\\'s accepted.'",
        "CREATE TABLE IF NOT EXISTS `novacrm`.`marts`.`nrr_summary` USING DELTA "
        "LOCATION 's3://lake/wh/marts/nrr_summary' COMMENT 'One row per month.'",
        "COMMENT ON TABLE `novacrm`.`marts`.`nrr_summary` IS 'One row per month.'",
        "CREATE TABLE IF NOT EXISTS `novacrm`.`quarantine`.`accounts` USING DELTA "
        "LOCATION 's3://lake/wh/quarantine/accounts'",
    ]


def test_register_needs_a_catalog_name_and_the_delta_spark_engine():
    assert catalog_name({"name": "novacrm"}) == "novacrm"
    with pytest.raises(ServingError, match="catalog: {name: novacrm}"):
        catalog_name({})
    require_delta_spark("delta-spark")
    with pytest.raises(ServingError, match="needs the delta-spark engine"):
        require_delta_spark("embedded")


def test_register_tables_names_the_failing_statement():
    ran = []

    def fake_sql(statement):
        if "bad" in statement:
            raise RuntimeError("PERMISSION_DENIED: no CREATE on schema\nstack...")
        ran.append(statement)

    with pytest.raises(ServingError, match=r"catalog statement failed: CREATE bad\n  PERMISSION_DENIED"):
        register_tables(fake_sql, ["CREATE good", "CREATE bad", "CREATE never"])
    assert ran == ["CREATE good"]


def test_register_with_the_embedded_engine_explains_what_it_needs(tmp_path):
    result = CliRunner().invoke(main, ["register", "--engine", "embedded", "--warehouse", str(tmp_path)])
    assert result.exit_code == 2
    assert "needs the delta-spark engine" in result.stderr and "Traceback" not in result.output


def test_register_dry_run_prints_one_entry_per_published_table(built_warehouse, keep_session_conf):
    result = CliRunner().invoke(
        main,
        ["register", "--dry-run", "--catalog", "novacrm", "--engine", "embedded", "--warehouse", str(built_warehouse)],
    )
    assert result.exit_code == 0, result.output
    create = r"CREATE TABLE IF NOT EXISTS `novacrm`\.`(\w+)`\.`(\w+)` USING DELTA LOCATION '([^']+)'"
    creates = re.findall(create, result.stdout)
    published = {
        (layer.name, table.name)
        for layer in built_warehouse.iterdir()
        if layer.name in ("staging", "core", "marts", "quarantine")
        for table in layer.iterdir()
        if (table / "_delta_log").is_dir()
    }
    assert {(layer, table) for layer, table, _ in creates} == published
    assert all(location == str(built_warehouse / layer / table) for layer, table, location in creates)
    description = " ".join(all_models()["churn_risk_view"].description.split()).replace("'", "\\'")
    assert f"COMMENT ON TABLE `novacrm`.`marts`.`churn_risk_view` IS '{description}';" in result.stdout
