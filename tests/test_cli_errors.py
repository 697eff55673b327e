"""Errors, not tracebacks: each user or machine problem is one ``error:`` line, exit 2, tables untouched.

A read-only or full warehouse is simulated with a small tmpfs, which needs
root and permission to mount (CI runs as root); elsewhere those tests are
skipped, and tests/test_store.py covers the same errors injected at the store.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from novacrm_spark.cli import main
from novacrm_spark.sources import SOURCES

CONFIG = "master: local[2]\nshuffle_partitions: 2\nengine: embedded\n"
ACCOUNTS = [
    "ACC-0001,Acme,software,40,growth,Ana,europe,2024-01-10,active",
    "ACC-0002,Globex,retail,600,enterprise,Bo,apac,2024-02-01,active",
]
INVOICES = ["INV-1,ACC-0001,2024-02-10,149.00,USD,paid,novacrm_platform"]
MORE_ACCOUNTS = ACCOUNTS + ["ACC-0003,Initech,finance,10,starter,Cy,latam,2024-03-01,active"]
SELECT = ["--select", "stg_accounts", "--select", "stg_invoices"]


def write_inputs(folder: Path, accounts: list[str]) -> Path:
    folder.mkdir(parents=True)
    for source, rows in (("accounts", accounts), ("invoices", INVOICES)):
        spec = SOURCES[source]
        (folder / spec.file_name).write_text("\n".join([",".join(spec.columns), *rows]) + "\n", encoding="utf-8")
    return folder


def assert_one_error(result, *fragments: str) -> str:
    """Exit 2, no exception of our own escaped, exactly one ``error:`` line holding ``fragments``."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output
    return lines[0]


def published(warehouse: Path) -> dict[str, tuple[int, list]]:
    """Every table's version and rows, read back with delta-rs."""
    tables = {}
    for log in sorted(warehouse.glob("[!_]*/*/_delta_log")):  # the layers' tables, not _meta's run manifest
        table = DeltaTable(str(log.parent))
        rows = sorted(table.to_pyarrow_table().to_pylist(), key=repr)
        tables[f"{log.parent.parent.name}.{log.parent.name}"] = (table.version(), rows)
    return tables


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "test.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(config: Path, inputs: Path, warehouse: Path, *extra: str):
    args = ["run", "--config", str(config), "--input", str(inputs), "--warehouse", str(warehouse), *SELECT, *extra]
    return CliRunner().invoke(main, args)


# --- configuration and usage: refused before Spark starts, as a new user would meet them -------------


def novacrm(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from novacrm_spark.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, timeout=600,
    )


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("as_of_date: 2024-02-30\n", "error: as_of_date must be a real date (YYYY-MM-DD); got '2024-02-30': "
                                     "day is out of range for month"),
        ("spark_conf: 5\n", "error: spark_conf must be a mapping of names to values; got 5"),
        ("warehouse: [unclosed\npassword: hunter2\n",
         "error: config file bad.yaml is not valid YAML at line 2, column 9: expected ',' or ']', but got ':'"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_the_setting(tmp_path, yaml_text, message):
    (tmp_path / "bad.yaml").write_text(yaml_text, encoding="utf-8")

    done = novacrm("run", "--config", "bad.yaml", "--warehouse", "wh", cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr.splitlines() == [message]
    assert "hunter2" not in done.stderr + done.stdout
    assert not (tmp_path / "wh").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--as-of", "20240131"], "error: --as-of must be YYYY-MM-DD; got '20240131'"),
        (["run", "--as-of", "2024-02-30"], "error: --as-of must be a real date (YYYY-MM-DD); got '2024-02-30': "
                                           "day is out of range for month"),
        (["generate", "--as-of", "20250131", "--out", "gen"], "error: --as-of must be YYYY-MM-DD; got '20250131'"),
        (["generate", "--accounts", "0", "--out", "gen"], "error: accounts must be an integer >= 1, got 0"),
        (["show", "../../etc"], "error: table must be NAME or LAYER.NAME with LAYER one of staging, core, marts, "
                                "quarantine; got '../../etc'"),
        (["show", "staging/../../etc"], "error: table must be NAME or LAYER.NAME with LAYER one of staging, core, "
                                        "marts, quarantine; got 'staging/../../etc'"),
        (["show", "nope"], "error: no model named 'nope'; use LAYER.NAME for quarantine tables"),
        (["run", "--select", "fct_revnue+"], "error: --select 'fct_revnue+': no model named 'fct_revnue'; "
                                             "did you mean fct_revenue or fct_usage?"),
    ],
)
def test_bad_arguments_are_one_line(tmp_path, args, message):
    result = CliRunner().invoke(main, [*args, "--warehouse", str(tmp_path / "wh")] if args[0] != "generate" else args)
    assert assert_one_error(result) == message
    assert not (tmp_path / "wh").exists()


def test_show_refuses_a_path_as_a_new_user_would_type_it(tmp_path):
    done = novacrm("show", "../../etc", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: table must be NAME or LAYER.NAME with LAYER one of staging, core, marts, quarantine; got '../../etc'"
    ]


def test_an_os_error_outside_the_store_names_the_path(tmp_path):
    (tmp_path / "a_file").write_text("x")
    result = CliRunner().invoke(main, ["generate", "--accounts", "5", "--out", str(tmp_path / "a_file" / "out")])
    assert_one_error(result, f"error: {tmp_path / 'a_file' / 'out'}: a part of the path is a file, not a folder")


# --- the warehouse: read-only, full, not a folder; the tables stay as they were ----------------------


def test_a_warehouse_under_a_file_is_one_line_naming_the_table_path(spark, tmp_path, config):
    (tmp_path / "a_file").write_text("x")
    warehouse = tmp_path / "a_file" / "wh"

    result = run(config, write_inputs(tmp_path / "raw", ACCOUNTS), warehouse)

    assert_one_error(
        result, f"at {warehouse}/staging/", "a part of the path is a file, not a folder; the table is unchanged"
    )


def test_an_os_error_the_runner_meets_names_the_warehouse(spark, tmp_path, config, monkeypatch):
    import novacrm_spark.run.runner as runner

    def full(*_args):  # writing run_results.json; a failed write() names no file
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "write_run_results", full)
    warehouse = tmp_path / "wh"
    result = run(config, write_inputs(tmp_path / "raw", ACCOUNTS), warehouse)
    assert_one_error(result, f"error: cannot write to the warehouse {warehouse}: no space left on device")


@pytest.fixture
def tmpfs(tmp_path):
    """Mount small tmpfs folders for a test; skipped where mounting is not permitted (not root)."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        try:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "none", str(point)],
                                  capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip("no mount command to simulate a read-only or full disk")
        if done.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not permitted here (needs root): {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


def build_first_version(spark, tmp_path, config, warehouse: Path) -> dict:
    result = run(config, write_inputs(tmp_path / "raw_v1", ACCOUNTS), warehouse)
    assert result.exit_code == 0, result.output
    before = published(warehouse)
    assert set(before) == {"staging.stg_accounts", "staging.stg_invoices", "quarantine.accounts", "quarantine.invoices"}
    return before


def test_a_read_only_warehouse_is_one_line_and_the_tables_stay(spark, tmp_path, config, tmpfs):
    disk = tmpfs("ro", "4m")
    warehouse = disk / "wh"
    before = build_first_version(spark, tmp_path, config, warehouse)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)

    result = run(config, write_inputs(tmp_path / "raw_v2", MORE_ACCOUNTS), warehouse)

    assert_one_error(result, f"at {warehouse}/staging/stg_", ": read-only file system; the table is unchanged")
    assert published(warehouse) == before


def test_a_full_disk_is_one_line_and_the_tables_stay(spark, tmp_path, config, tmpfs):
    disk = tmpfs("full", "4m")
    warehouse = disk / "wh"
    before = build_first_version(spark, tmp_path, config, warehouse)
    with open(disk / "filler", "wb", buffering=0) as filler:
        with pytest.raises(OSError) as full:
            while True:
                filler.write(b"\0" * 65536)
    assert full.value.errno == errno.ENOSPC

    result = run(config, write_inputs(tmp_path / "raw_v2", MORE_ACCOUNTS), warehouse)

    assert_one_error(result, f"at {warehouse}/", ": no space left on device; the table is unchanged")
    assert published(warehouse) == before
    assert not list(warehouse.glob("*/*/_staging"))  # nothing of the failed write is left


def test_a_commit_conflict_is_one_line_naming_the_table(spark, tmp_path, config, monkeypatch):
    from novacrm_spark.run import runner
    from novacrm_spark.store import open_store

    warehouse = tmp_path / "wh"
    build_first_version(spark, tmp_path, config, warehouse)
    finish = runner.finish_run

    def another_writer_first(*args, **kwargs):  # commits stg_accounts after the run staged it
        other = open_store(spark, str(warehouse), "embedded")
        other.overwrite(other.read("staging", "stg_accounts"), "staging", "stg_accounts")
        return finish(*args, **kwargs)

    monkeypatch.setattr(runner, "finish_run", another_writer_first)
    before = published(warehouse)

    result = run(config, write_inputs(tmp_path / "raw_v2", MORE_ACCOUNTS), warehouse)

    assert_one_error(result, f"error: table staging.stg_accounts at {warehouse}/staging/stg_accounts was changed by "
                             "another writer: it committed version 2 after this run read version 1")
    after = published(warehouse)
    assert after["staging.stg_accounts"][0] == 2 and len(after["staging.stg_accounts"][1]) == 2  # theirs, not ours
    assert {k: v for k, v in after.items() if k != "staging.stg_accounts"} == {
        k: v for k, v in before.items() if k != "staging.stg_accounts"
    }


# --- stale data: refused before anything is published, unless --allow-stale --------------------------


def test_a_stale_source_or_an_as_of_date_after_the_data_is_refused_before_publishing(spark, tmp_path, config):
    inputs = write_inputs(tmp_path / "raw", ACCOUNTS)  # invoices: newest 2024-02-10; their limit is 7 days, error
    warehouse = tmp_path / "wh"

    after = run(config, inputs, warehouse, "--as-of", "2030-01-01")
    stale = run(config, inputs, warehouse, "--as-of", "2024-02-18")

    assert_one_error(after, "error: the as-of date 2030-01-01 is after the data: the newest record of any source "
                            "checked is 2024-02-10 (invoices), ", "; pass --allow-stale to build anyway")
    assert assert_one_error(stale) == (
        "error: source invoices is stale: newest record 2024-02-10, 8 days before the as-of date 2024-02-18 "
        "(max_staleness_days 7); pass --allow-stale to build anyway")
    assert published(warehouse) == {}
    assert not list(warehouse.glob("*/*/_staging/*"))  # the staged tables were discarded
    assert not (warehouse / "_runs").exists() or not list((warehouse / "_runs").glob("*/run_results.json"))


def test_allow_stale_builds_anyway_with_a_warn_line_and_records_the_freshness(spark, tmp_path, config):
    warehouse = tmp_path / "wh"

    result = run(config, write_inputs(tmp_path / "raw", ACCOUNTS), warehouse, "--as-of", "2030-01-01", "--allow-stale")

    assert result.exit_code == 0, result.output
    warned = [line for line in result.stdout.splitlines() if line.startswith("WARN ")]
    assert warned == [
        "WARN the as-of date 2030-01-01 is after the data: the newest record of any source checked is 2024-02-10 "
        "(invoices), 2152 days before it, more than any source's max_staleness_days (at most 31) "
        "(building anyway: --allow-stale)",
        "WARN source invoices is stale: newest record 2024-02-10, 2152 days before the as-of date 2030-01-01 "
        "(max_staleness_days 7) (building anyway: --allow-stale)",
    ]
    assert set(published(warehouse)) == {"staging.stg_accounts", "staging.stg_invoices", "quarantine.accounts",
                                         "quarantine.invoices"}
    [results] = (warehouse / "_runs").glob("*/run_results.json")
    payload = json.loads(results.read_text(encoding="utf-8"))
    assert payload["args"]["allow_stale"] is True
    assert payload["freshness"]["allow_stale"] is True
    assert payload["freshness"]["as_of_problem"].startswith("the as-of date 2030-01-01 is after the data")
    assert [(s["source"], s["newest"], s["status"]) for s in payload["freshness"]["sources"]] == [
        ("invoices", "2024-02-10", "warn")]


@pytest.mark.parametrize("env, expected", [({}, False), ({"NOVACRM_ALLOW_STALE": "1"}, True)])
def test_allow_stale_also_comes_from_the_environment(tmp_path, monkeypatch, env, expected):
    import novacrm_spark.run.runner as runner
    import novacrm_spark.session as session

    calls = {}
    monkeypatch.setattr(session, "build_spark_session", lambda settings, verbose: "no spark")
    monkeypatch.setattr(runner, "run_pipeline", lambda spark, settings, **kwargs: calls.update(kwargs) or
                        SimpleNamespace(ok=True))

    result = CliRunner().invoke(main, ["run", "--engine", "embedded", "--warehouse", str(tmp_path / "wh")], env=env)

    assert result.exit_code == 0, result.output
    assert calls["allow_stale"] is expected
