"""`novacrm sql` is read-only: Spark's parser and analyser refuse what is not a query (see serving/guard.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from hostile_sql import ALLOWED, HOSTILE, fill
from novacrm_spark.cli import main
from novacrm_spark.errors import ServingError
from novacrm_spark.serving.auth import bind_address, choose_auth, is_loopback
from novacrm_spark.serving.catalog import ServingCatalog
from novacrm_spark.serving.output import answer
from novacrm_spark.serving.guard import install_read_only_guard, table_root
from novacrm_spark.store import open_store
from novacrm_spark.store.base import LAYERS


def versions(warehouse: Path) -> dict[str, int]:
    """Every Delta table's version, read with delta-rs (not through the server)."""
    return {
        f"{layer.name}.{table.name}": DeltaTable(str(table)).version()
        for layer in sorted(warehouse.iterdir())
        if layer.name in ("staging", "core", "marts", "quarantine")
        for table in sorted(layer.iterdir())
    }


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def guarded_copy(built_warehouse, tmp_path_factory):
    """A copy: were the guard broken, the hostile set would damage this one, not the shared warehouse."""
    copy = tmp_path_factory.mktemp("guarded") / "warehouse"
    shutil.copytree(built_warehouse, copy)
    return copy


@pytest.fixture
def keep_session_conf(spark):
    saved = spark.conf.get("spark.sql.shuffle.partitions")
    yield
    spark.conf.set("spark.sql.shuffle.partitions", saved)


def run_sql(warehouse: Path, statement: str):
    return CliRunner().invoke(main, ["sql", statement, "--warehouse", str(warehouse)], catch_exceptions=False)


@pytest.fixture(scope="module")
def reader(spark, guarded_copy, tmp_path_factory):
    """What `novacrm sql` queries: the serving views of the copy, through a guarded session."""
    catalog = ServingCatalog(spark, open_store(spark, str(guarded_copy), "embedded"), str(tmp_path_factory.mktemp("s")))
    catalog.refresh()
    yield install_read_only_guard(spark, str(guarded_copy), LAYERS)
    catalog.close()


def test_every_hostile_statement_is_refused_and_changes_nothing(reader, guarded_copy, tmp_path):
    outside = tmp_path / "outside"
    before, files_before = versions(guarded_copy), files_under(guarded_copy)
    for template in HOSTILE:
        statement = fill(template, outside, guarded_copy)
        with pytest.raises(ServingError) as refused:
            answer(reader, statement)
        assert str(refused.value).startswith(("refused: ", "query failed: ")), statement
    assert versions(guarded_copy) == before
    assert files_under(guarded_copy) == files_before  # nothing new in the warehouse
    assert not outside.exists()  # nothing created outside it


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("DROP VIEW marts.nrr_summary", "refused: DROP TABLE (DropTableCommand)"),
        ("INSERT OVERWRITE DIRECTORY '/tmp/x' USING parquet SELECT 1", "refused: INSERT INTO DATA SOURCE DIR"),
        ("SELECT * FROM csv.`/etc/passwd`", "refused: reading csv./etc/passwd"),
        ("SELECT reflect('java.lang.System', 'getenv', 'HOME')", "refused: CallMethodViaReflection"),
        ("SELECT TRANSFORM(1) USING 'cat'", "refused: SELECT TRANSFORM"),
        ("SET spark.sql.runSQLOnFiles=true", "refused: SET spark.sql.runSQLOnFiles"),
        ("CACHE TABLE marts.nrr_summary", "refused: CACHE TABLE"),
        ("ADD JAR /tmp/evil.jar", "refused: ADD JARS"),
        ("CREATE FUNCTION evil AS 'x.Y'", "refused: CREATE FUNCTION"),
    ],
)
def test_a_refusal_names_what_is_refused(reader, statement, named):
    with pytest.raises(ServingError) as refused:
        answer(reader, statement)
    assert str(refused.value).startswith(named) and "read-only" in str(refused.value)


def test_queries_and_the_statements_bi_tools_send_still_work(reader, guarded_copy):
    for statement in ALLOWED:
        answer(reader, statement)  # raises on a refusal
    rows = DeltaTable(str(guarded_copy / "marts" / "nrr_summary")).to_pyarrow_table().num_rows
    assert answer(reader, "SELECT count(*) AS n FROM marts.nrr_summary", "csv").text == f"n\n{rows}"
    assert answer(reader, "SET spark.sql.ansi.enabled", "csv").text == "key,value\nspark.sql.ansi.enabled,true"


def test_the_sql_command_refuses_with_one_error_line_and_exit_2(guarded_copy, keep_session_conf, tmp_path):
    before = versions(guarded_copy)
    for template in ("INSERT OVERWRITE DIRECTORY '{warehouse}/marts/nrr_summary' USING parquet SELECT 1 AS x",
                     "SELECT * FROM csv.`/etc/passwd`"):
        result = run_sql(guarded_copy, fill(template, tmp_path / "outside", guarded_copy))
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert [line for line in result.stderr.splitlines() if line] == [result.stderr.strip()]
        assert result.stderr.startswith("error: refused: ")
    assert versions(guarded_copy) == before
    assert run_sql(guarded_copy, "SELECT count(*) FROM marts.nrr_summary").exit_code == 0


# --- authentication and binding (pure) ---------------------------------------------------------


def test_serve_needs_credentials_unless_told_otherwise(tmp_path):
    with pytest.raises(ServingError, match="serve needs credentials"):
        choose_auth("localhost", no_auth=False, password_file=None, spark_conf={}, environ={})
    mode = choose_auth("localhost", False, None, {}, environ={"NOVACRM_SERVE_PASSWORD": "pw"})
    assert (mode.kind, mode.credentials.user, mode.credentials.password) == ("password", "novacrm", "pw")
    assert "pw" not in repr(mode)  # never printed with the mode
    assert mode.hive_conf() == {
        "hive.server2.authentication": "CUSTOM",
        "hive.server2.custom.authentication.class": "PasswordAuthenticator",
    }
    secret = tmp_path / "password"
    secret.write_text("from-file\nignored\n")
    named = choose_auth("localhost", False, str(secret), {}, environ={"NOVACRM_SERVE_USER": "bi"})
    assert (named.credentials.user, named.credentials.password) == ("bi", "from-file")
    (tmp_path / "empty").write_text("")
    with pytest.raises(ServingError, match="is empty"):
        choose_auth("localhost", False, str(tmp_path / "empty"), {}, environ={})
    ldap = choose_auth("localhost", False, None, {"hive.server2.authentication": "LDAP"}, environ={})
    assert ldap.kind == "ldap" and ldap.hive_conf() == {}  # the config's own LDAP settings stay


def test_no_auth_only_on_a_loopback_host():
    assert choose_auth("127.0.0.1", no_auth=True, password_file=None, spark_conf={}).hive_conf() == {
        "hive.server2.authentication": "NONE"
    }
    with pytest.raises(ServingError, match="loopback"):
        choose_auth("0.0.0.0", no_auth=True, password_file=None, spark_conf={})
    assert is_loopback("localhost") and is_loopback("127.0.0.1") and not is_loopback("0.0.0.0")
    assert bind_address("localhost") == "127.0.0.1"


def test_table_root_is_the_warehouse_as_a_uri_prefix(tmp_path):
    assert table_root(str(tmp_path)) == f"file://{tmp_path}/"
    assert table_root("s3a://bucket/lake/") == "s3a://bucket/lake/"
    assert table_root(os.path.join(str(tmp_path), "w", "..", "w")) == f"file://{tmp_path}/w/"
